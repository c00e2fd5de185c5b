-- Search: public ids computed in SQL, so `q` can match them by substring. Must agree with
-- casework_domain::id (22 base62 digits of the UUID, ASCII-ordered alphabet, 2 check digits);
-- a test compares the two.
CREATE FUNCTION casework_public_id(prefix text, id uuid) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    hex constant text := replace(id::text, '-', '');
    value numeric := 0;
    digits text := '';
    body text;
    checksum int := 7;
BEGIN
    FOR i IN 1..32 LOOP
        value := value * 16 + (position(substr(hex, i, 1) IN '0123456789abcdef') - 1);
    END LOOP;
    FOR i IN 1..22 LOOP
        digits := substr(alphabet, (mod(value, 62))::int + 1, 1) || digits;
        value := div(value, 62);
    END LOOP;
    body := prefix || digits;
    FOR i IN 1..length(body) LOOP
        checksum := mod(checksum * 31 + i * ascii(substr(body, i, 1)), 3844);
    END LOOP;
    RETURN body || substr(alphabet, checksum / 62 + 1, 1) || substr(alphabet, mod(checksum, 62) + 1, 1);
END
$$;

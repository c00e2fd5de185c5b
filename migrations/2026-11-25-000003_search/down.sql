DROP FUNCTION casework_public_id(text, uuid);

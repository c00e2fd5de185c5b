DROP TABLE sign_in_attempts;
DROP TABLE console_sessions;
DROP TABLE invitations;
ALTER TABLE org_users DROP COLUMN password_hash;

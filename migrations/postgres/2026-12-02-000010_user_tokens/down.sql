DROP INDEX api_tokens_expires_at_idx;
DROP TABLE user_tokens;

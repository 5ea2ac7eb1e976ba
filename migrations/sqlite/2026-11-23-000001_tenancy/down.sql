DROP TABLE api_tokens;
DROP TABLE client_credentials;
DROP TABLE service_accounts;
DROP TABLE memberships;
DROP TABLE principals;
DROP TABLE teams;

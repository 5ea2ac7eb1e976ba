DROP TABLE oauth_connect_states;

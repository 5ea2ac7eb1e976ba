//! Requests no route takes: `405` with `Allow` for a known path, `404` for an unknown one.

use credvault_persistence::testing::TestDb;

use crate::helpers::TestApp;

credvault_persistence::backend_tests! {
    fn another_method_on_a_known_path_is_405_with_allow(db: &TestDb) {
        let app = TestApp::spawn(db);
        let credential = app.create_postgres("Warehouse", "pw-1");
        let path = app.credential(credential["id"].as_str().unwrap());

        let response = app.owner.send("PUT", &path, &[], Some(b"{}"));
        let problem = response.problem(405);
        assert_eq!(problem["type"], "https://credvault.dev/problems/method-not-allowed");
        assert_eq!(response.header("allow"), Some("GET, DELETE, HEAD, PATCH"));

        // The answer depends on the path's shape only: another team's path, or no token at all,
        // gets the same 405, so it tells nothing about what exists.
        let foreign = app.outsider.send("PUT", &path, &[], Some(b"{}"));
        assert_eq!(foreign.status, 405);
        assert_eq!(app.anonymous.send("TRACE", "/healthz", &[], None).status, 405);
        assert_eq!(
            app.anonymous.send("POST", "/healthz", &[], None).header("allow"),
            Some("GET, HEAD")
        );

        app.owner.get("/api/v1/nothing-here").problem(404);
        app.owner.send("PUT", "/api/v1/nothing-here", &[], None).problem(404);
    }
}

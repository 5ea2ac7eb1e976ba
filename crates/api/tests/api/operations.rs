//! Health, readiness, metrics, the OpenAPI document and Swagger UI over HTTP.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;

use crate::helpers::TestApp;

backend_tests! {
    fn healthz_and_readyz_answer_ok(db: &TestDb) {
        let app = TestApp::spawn(db);
        let health = app.anonymous.get("/healthz");
        assert_eq!(health.status, 200);
        assert_eq!(health.json()["status"], "ok");
        let ready = app.anonymous.get("/readyz");
        assert_eq!(ready.status, 200, "{}", ready.body);
        assert!(ready.header("x-request-id").is_some());
    }

    fn metrics_count_requests_by_route_pattern_and_status(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("measured", "pw-metrics");
        let id = created["id"].as_str().unwrap();
        app.owner.get(&app.credential(id));
        app.owner.get(&app.credential(id));
        app.anonymous.get(&app.credential(id));
        let metrics = app.anonymous.get("/metrics");
        assert_eq!(metrics.status, 200);
        assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
        let pattern = "/api/v1/teams/{team}/integrations/{credential_id}";
        assert!(
            metrics.body.contains(&format!(
                "credvault_http_requests_total{{method=\"GET\",route=\"{pattern}\",status=\"200\"}} 2"
            )),
            "{}",
            metrics.body
        );
        assert!(metrics.body.contains(&format!(
            "credvault_http_requests_total{{method=\"GET\",route=\"{pattern}\",status=\"401\"}} 1"
        )));
        assert!(metrics.body.contains(
            "credvault_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/teams/{team}/integrations\",status=\"201\"} 1"
        ));
        assert!(!metrics.body.contains(id), "raw paths are not labels");
    }

    fn the_openapi_document_and_swagger_ui_are_served(db: &TestDb) {
        let app = TestApp::spawn(db);
        let document = app.anonymous.get("/openapi.json");
        assert_eq!(document.status, 200);
        let document = document.json();
        assert_eq!(document, serde_json::to_value(credvault_api::openapi_document()).unwrap());
        let redirect = app.anonymous.get("/docs");
        assert!((300..400).contains(&redirect.status), "{}", redirect.status);
        assert_eq!(redirect.header("location"), Some("/docs/"));
        let ui = app.anonymous.get("/docs/");
        assert_eq!(ui.status, 200);
        assert!(ui.body.contains("swagger"), "{}", ui.body);
    }
}

//! The console's one style sheet, embedded in the binary so the console works offline.

use actix_web::HttpResponse;

/// The style sheet (`crates/api/assets/console.css`).
const STYLE_SHEET: &str = include_str!("../../assets/console.css");

/// `GET /console/assets/console.css`.
pub async fn style_sheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLE_SHEET)
}

//! A headless Chromium driven over WebDriver (`chromedriver` on a free port, `fantoccini`), for
//! the console's tests.
//!
//! Without a `chromedriver` on the machine the browser tests skip with a message, unless
//! `CREDVAULT_REQUIRE_BROWSER=1` (set by `cargo xtask ci`), which makes them fail instead.
//! Every page a test looks at can be saved under `target/console-screenshots/`.

use std::net::{TcpListener, TcpStream};
use std::ops::Not;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::rt::Runtime;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Where chromedriver and Chromium are looked for (Debian's `chromium-driver` and `chromium`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser session, reused by the cases of a test; chromedriver stops with it.
pub(crate) struct Browser {
    runtime: Runtime,
    client: Option<Client>,
    driver: Child,
    base: String,
}

impl Browser {
    /// A browser for the server at `base` (`http://127.0.0.1:PORT`), or `None` (after saying
    /// why) when this machine has no chromedriver and the browser tests are not required.
    pub(crate) fn start(base: &str) -> Option<Browser> {
        let driver_path =
            std::env::var("CREDVAULT_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_owned());
        let chromium = std::env::var("CREDVAULT_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
        if !PathBuf::from(&driver_path).exists() || !PathBuf::from(&chromium).exists() {
            assert!(
                std::env::var("CREDVAULT_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "CREDVAULT_REQUIRE_BROWSER=1 but {driver_path} or {chromium} is missing \
                 (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "skipping the browser test: {driver_path} or {chromium} is missing \
                 (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until chromedriver listens (readiness, not a measured time).
        let mut ready = false;
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ready, "chromedriver did not start listening on port {port}");
        let runtime = Runtime::new().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1100",
                         "--no-first-run", "--no-default-browser-check",
                         "--password-store=basic"],
            }),
        );
        let client = runtime
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .unwrap();
        Some(Browser {
            runtime,
            client: Some(client),
            driver,
            base: base.to_owned(),
        })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Opens a console path (`/console/...`).
    pub(crate) fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(self.client().goto(&url)).unwrap();
    }

    /// The current path (and query).
    pub(crate) fn path(&self) -> String {
        let url = self.runtime.block_on(self.client().current_url()).unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's HTML as the browser holds it.
    pub(crate) fn source(&self) -> String {
        self.runtime.block_on(self.client().source()).unwrap()
    }

    /// The text of the element `css`.
    pub(crate) fn text(&self, css: &str) -> String {
        self.runtime
            .block_on(async { self.client().find(Locator::Css(css)).await?.text().await })
            .unwrap_or_else(|error| panic!("{css}: {error}\n{}", self.source()))
    }

    /// Whether an element `css` is on the page.
    pub(crate) fn has(&self, css: &str) -> bool {
        self.runtime
            .block_on(self.client().find_all(Locator::Css(css)))
            .unwrap()
            .is_empty()
            .not()
    }

    /// The current `value` of the input `css` (what the browser would submit).
    pub(crate) fn value(&self, css: &str) -> String {
        self.runtime
            .block_on(async {
                self.client()
                    .find(Locator::Css(css))
                    .await?
                    .prop("value")
                    .await
            })
            .unwrap()
            .unwrap_or_default()
    }

    /// Replaces what the input `css` holds with `text`.
    pub(crate) fn fill(&self, css: &str, text: &str) {
        self.runtime
            .block_on(async {
                let element = self.client().find(Locator::Css(css)).await?;
                element.clear().await?;
                element.send_keys(text).await
            })
            .unwrap_or_else(|error| panic!("{css}: {error}\n{}", self.source()));
    }

    /// Chooses `value` in the select `css`.
    pub(crate) fn select(&self, css: &str, value: &str) {
        self.runtime
            .block_on(async {
                let element = self.client().find(Locator::Css(css)).await?;
                element.select_by_value(value).await
            })
            .unwrap();
    }

    /// Clicks `css`, then waits for `then` (an element of the page the click leads to).
    pub(crate) fn click(&self, css: &str, then: &str) {
        self.runtime
            .block_on(async {
                self.client().find(Locator::Css(css)).await?.click().await?;
                self.client().wait().for_element(Locator::Css(then)).await?;
                Ok::<_, fantoccini::error::CmdError>(())
            })
            .unwrap_or_else(|error| panic!("{css} then {then}: {error}\n{}", self.source()));
    }

    /// The value of the cookie `name`, HttpOnly or not.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.runtime
            .block_on(self.client().get_named_cookie(name))
            .ok()
            .map(|cookie| cookie.value().to_owned())
    }

    /// Saves a screenshot of the page as `target/console-screenshots/<name>.png`.
    pub(crate) fn screenshot(&self, name: &str) {
        let png = self.runtime.block_on(self.client().screenshot()).unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/console-screenshots` of this build (`CARGO_TARGET_DIR` when set).
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("console-screenshots")
}

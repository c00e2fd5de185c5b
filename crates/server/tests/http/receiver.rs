//! A real webhook receiver for the tests: an HTTP server on a free local port that records every
//! request (headers and raw body) and answers with the statuses it is told to, in order (then
//! 200).

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use casework_adapters::webhooks::signature::{SignatureHeader, verify_signature};
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn event(&self) -> String {
        self.header("x-verifa-event").to_owned()
    }

    /// Both signatures verify with `secret`, as a receiver checks them.
    pub fn verify(&self, secret: &str) -> bool {
        let tolerance = Duration::from_secs(300);
        let verifa =
            verify_signature(secret, SignatureHeader::Verifa(self.header("x-verifa-signature")), &self.body, tolerance);
        let standard = verify_signature(
            secret,
            SignatureHeader::Standard {
                id: self.header("webhook-id"),
                timestamp: self.header("webhook-timestamp"),
                signature: self.header("webhook-signature"),
            },
            &self.body,
            tolerance,
        );
        verifa.is_ok() && standard.is_ok()
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    script: VecDeque<(u16, Option<Duration>)>,
}

/// The receiver; clones share it.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

async fn record(request: HttpRequest, body: web::Bytes, shared: web::Data<Arc<Mutex<Shared>>>) -> HttpResponse {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    let (status, delay) = {
        let mut shared = shared.lock().unwrap();
        shared.received.push(Received { headers, body: body.to_vec(), at: Instant::now() });
        shared.script.pop_front().unwrap_or((200, None))
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let shared: Arc<Mutex<Shared>> = Arc::default();
        let data = web::Data::new(Arc::clone(&shared));
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(record)))
            .workers(2)
            .listen(listener)
            .unwrap()
            .run();
        tokio::spawn(server);
        Self { url, shared }
    }

    /// The next requests get these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.lock().unwrap().script.extend(statuses.iter().map(|s| (*s, None)));
    }

    /// The next request is answered `status` after `delay`.
    pub fn answer_slowly(&self, status: u16, delay: Duration) {
        self.shared.lock().unwrap().script.push_back((status, Some(delay)));
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Waits until `count` requests arrived (at most `timeout`), and returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

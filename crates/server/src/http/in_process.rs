//! The API called in-process: a request goes through the very routes, middleware and
//! conventions an HTTP client reaches (authentication by its key, scopes, rate limits,
//! idempotency, validation, the error body, the access log), without a socket. `/mcp` uses it
//! so every tool answers exactly what the REST endpoint answers.
//!
//! The API's handlers run on actix's single-threaded workers; this client owns one such worker
//! (a thread with its own actix system) and hands it requests over a channel, so its callers may
//! run anywhere.

use actix_web::dev::Service;
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpMessage, test, web};
use tokio::sync::{mpsc, oneshot};

use super::{middleware, routes};
use crate::state::AppState;

/// A request made in-process.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The path with its query string (`/api/v1/cases?tab=mine`).
    pub path: String,
    /// The caller's API key: authenticated like any other request's.
    pub key: String,
    /// The MCP client an agent calls through: its actions are recorded as the agent's.
    pub agent: Option<String>,
    /// A JSON body.
    pub body: Option<serde_json::Value>,
}

/// Marks a request as an agent's (set only in-process: no HTTP header can claim it).
#[derive(Debug, Clone)]
pub struct AgentCall(pub String);

/// What the API answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The body (JSON for every API answer).
    pub body: Vec<u8>,
}

struct Job {
    call: Call,
    reply: oneshot::Sender<Answer>,
}

/// A handle to the in-process API; clones share its worker.
#[derive(Debug, Clone)]
pub struct InProcess {
    jobs: mpsc::UnboundedSender<Job>,
}

/// Why an in-process call got no answer.
#[derive(Debug, thiserror::Error)]
#[error("the in-process API is not running")]
pub struct Stopped;

impl InProcess {
    /// Starts the worker thread serving the API for `state`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(state: AppState) -> std::io::Result<Self> {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new().name("casework-in-process".to_owned()).spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::new(state);
                let app = App::new()
                    .app_data(data)
                    .wrap(from_fn(middleware::envelope))
                    .configure(routes::configure_api)
                    .default_service(web::to(routes::unknown_route));
                let service = std::rc::Rc::new(test::init_service(app).await);
                while let Some(job) = queue.recv().await {
                    let service = std::rc::Rc::clone(&service);
                    actix_web::rt::spawn(async move {
                        let mut request = test::TestRequest::default()
                            .method(job.call.method.clone())
                            .uri(&job.call.path)
                            .insert_header(("X-API-Key", job.call.key.clone()));
                        if let Some(body) = &job.call.body {
                            request = request
                                .insert_header(("Content-Type", "application/json"))
                                .set_payload(body.to_string());
                        }
                        let request = request.to_request();
                        if let Some(agent) = &job.call.agent {
                            request.extensions_mut().insert(AgentCall(agent.clone()));
                        }
                        let answer = match service.call(request).await {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                let body = actix_web::body::to_bytes(response.into_body()).await;
                                Answer { status, body: body.map(|bytes| bytes.to_vec()).unwrap_or_default() }
                            }
                            Err(error) => {
                                Answer { status: error.as_response_error().status_code().as_u16(), body: Vec::new() }
                            }
                        };
                        let _ = job.reply.send(answer);
                    });
                }
            });
        })?;
        Ok(Self { jobs })
    }

    /// Makes a call and waits for its answer.
    ///
    /// # Errors
    /// [`Stopped`] when the worker is gone.
    pub async fn call(&self, call: Call) -> Result<Answer, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { call, reply }).map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }
}

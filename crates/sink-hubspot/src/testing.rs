//! Test doubles shared by the unit tests: a transport that plays back
//! scripted answers, so retry, pacing and answer handling are tested without
//! sockets and with tokio's paused clock.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use tokio::time::Instant;

use crate::request_builder::ApiRequest;
use crate::service::{HttpResponse, Transport, TransportError};

/// Plays back scripted answers and notes each request and when it came.
pub struct Script {
    answers: Mutex<VecDeque<Result<HttpResponse, TransportError>>>,
    pub arrivals: Mutex<Vec<Duration>>,
    pub requests: Mutex<Vec<ApiRequest>>,
    start: Instant,
}

impl Script {
    pub fn new(answers: Vec<Result<HttpResponse, TransportError>>) -> Self {
        Script {
            answers: Mutex::new(answers.into()),
            arrivals: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            start: Instant::now(),
        }
    }

    /// Paths requested so far, in order.
    pub fn paths(&self) -> Vec<String> {
        let requests = self.requests.lock().unwrap();
        requests.iter().map(|r| r.path.clone()).collect()
    }
}

impl Transport for Script {
    async fn call(&self, request: &ApiRequest) -> Result<HttpResponse, TransportError> {
        self.arrivals.lock().unwrap().push(self.start.elapsed());
        self.requests.lock().unwrap().push(request.clone());
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("more requests than scripted answers")
    }
}

/// An HTTP answer with the given status, headers and body.
pub fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> HttpResponse {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().unwrap());
    }
    HttpResponse {
        status: StatusCode::from_u16(status).unwrap(),
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

//! Worker threads for threaded servers: each takes a connection with a complete request head,
//! serves it (and any requests pipelined behind it) and hands the connection back to the loop.
//! Workers wait for jobs with the GIL released and take it only inside `request::serve`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::Waker;
use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;

use super::conn::Conn;
use super::parse::RequestHead;
use super::request::{serve_pipelined, Settings};

pub struct Job {
    pub slot: usize,
    pub conn: Box<Conn>,
    pub head: RequestHead,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closing: bool,
}

/// Connections coming back to the loop (None: closed), by slot.
type Returned = Arc<Mutex<Vec<(usize, Option<Box<Conn>>)>>>;

pub struct Pool {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    returned: Returned,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new(
        threads: usize,
        settings: Arc<Settings>,
        waker: Arc<Waker>,
    ) -> std::io::Result<Self> {
        let queue: Arc<(Mutex<Queue>, Condvar)> = Arc::default();
        let returned: Returned = Arc::default();
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let (queue, returned, settings, waker) = (
                queue.clone(),
                returned.clone(),
                settings.clone(),
                waker.clone(),
            );
            let worker = std::thread::Builder::new()
                .name(format!("wsgiref-rs-worker-{i}"))
                .spawn(move || loop {
                    let job = {
                        let (lock, ready) = &*queue;
                        let mut q = lock.lock();
                        loop {
                            if let Some(job) = q.jobs.pop_front() {
                                break job;
                            }
                            if q.closing {
                                return;
                            }
                            ready.wait(&mut q);
                        }
                    };
                    // Signals reach only the main thread; anything else that would stop the
                    // server is reported here, and the connection closed.
                    let served = Python::attach(|py| {
                        serve_pipelined(py, &settings, job.conn, job.head).unwrap_or_else(|e| {
                            e.print(py);
                            None
                        })
                    });
                    let back = served.and_then(|conn| conn.send_out(settings.timeout));
                    returned.lock().push((job.slot, back));
                    let _ = waker.wake();
                })?;
            workers.push(worker);
        }
        Ok(Pool {
            queue,
            returned,
            workers,
        })
    }

    pub fn submit(&self, job: Job) {
        let (lock, ready) = &*self.queue;
        lock.lock().jobs.push_back(job);
        ready.notify_one();
    }

    /// The connections the workers are done with.
    pub fn returned(&self) -> Vec<(usize, Option<Box<Conn>>)> {
        std::mem::take(&mut *self.returned.lock())
    }

    /// Closes the connections still queued and lets the workers go without waiting for the
    /// requests they are running (a graceful stop out of time): each ends its request on its
    /// own, bounded by the engine's socket timeout, then exits.
    pub fn abandon(&mut self) {
        let (lock, ready) = &*self.queue;
        {
            let mut q = lock.lock();
            q.closing = true;
            q.jobs.clear();
        }
        ready.notify_all();
        self.workers.clear();
    }

    /// Lets the workers finish what they have, then waits for them. Call without the GIL.
    pub fn close(&mut self) {
        let (lock, ready) = &*self.queue;
        lock.lock().closing = true;
        ready.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

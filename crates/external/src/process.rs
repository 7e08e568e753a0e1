//! One solver program as a child process: a writer thread feeds its stdin, a reader thread cuts its stdout into
//! lines (bounded in length and in how many wait unread, so a flood cannot exhaust memory), and a third forwards
//! its stderr to driftbench's log while keeping the last lines for error messages. The harness thread never blocks
//! on the pipes themselves, so every wait has a timeout, and a program that stops reading cannot hang the run.
use crate::error::{ExternalError, Result};
use crate::protocol::Incoming;
use driftbench_core::ExternalSpec;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of stderr kept for error messages.
const STDERR_TAIL: usize = 12;
/// Lines read ahead of the harness before the reader thread waits (back-pressure on a flooding program).
const READ_AHEAD: usize = 256;
/// How long a program may take to exit after `bye`.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Characters of an offending line quoted in an error.
const QUOTE: usize = 160;

/// What the reader thread saw on the program's stdout.
enum Event {
    Line(String),
    TooLong,
    NotUtf8,
    Eof,
    Failed(std::io::Error),
}

/// Where the time of a session went, and how much crossed the pipes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    /// Messages written to the program.
    pub(crate) sent: u64,
    /// Messages read from the program.
    pub(crate) received: u64,
    /// Bytes written, newlines included.
    pub(crate) bytes_sent: u64,
    /// Bytes read, newlines included.
    pub(crate) bytes_received: u64,
    /// Harness time spent serialising, handing lines to the pipe and parsing the program's lines.
    pub(crate) pipe: Duration,
    /// Harness time spent waiting for the program's next line: the program's own time, as the harness sees it.
    pub(crate) waiting: Duration,
}

/// A running solver program.
pub(crate) struct Session {
    label: String,
    child: Child,
    exited: bool,
    to_child: Option<Sender<Vec<u8>>>,
    from_child: Receiver<Event>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    message_timeout: Duration,
    run_timeout_s: f64,
    deadline: Instant,
    started: Instant,
    max_line: usize,
    pub(crate) counters: Counters,
}

/// The words of a command line, split as a POSIX shell would (quotes, backslashes), without running a shell.
pub(crate) fn words(command: &str) -> Result<Vec<String>> {
    let bad = |reason: &str| ExternalError::Command { command: command.into(), reason: reason.into() };
    let words = shlex::split(command).ok_or_else(|| bad("has an unclosed quote or a trailing backslash"))?;
    if words.is_empty() {
        return Err(bad("is empty"));
    }
    Ok(words)
}

impl Session {
    /// Starts the program of `spec`; `label` prefixes its stderr lines in the log.
    pub(crate) fn spawn(spec: &ExternalSpec, label: String) -> Result<Session> {
        let argv = words(&spec.command)?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).envs(&spec.env).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(dir) = &spec.working_dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|err| ExternalError::Spawn { program: argv[0].clone(), err })?;
        let started = Instant::now();
        let (stdin, stdout, stderr) = match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
            (Some(i), Some(o), Some(e)) => (i, o, e),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExternalError::Io(std::io::Error::other("the child's pipes were not set up")));
            }
        };
        let (to_child, for_writer) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || write_loop(stdin, for_writer));
        let (from_reader, from_child) = mpsc::sync_channel(READ_AHEAD);
        let max_line = spec.max_line_bytes;
        std::thread::spawn(move || read_loop(stdout, max_line, from_reader));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        let prefix = label.clone();
        std::thread::spawn(move || stderr_loop(stderr, &prefix, &tail));
        Ok(Session {
            label,
            child,
            exited: false,
            to_child: Some(to_child),
            from_child,
            stderr_tail,
            message_timeout: Duration::from_secs_f64(spec.message_timeout_s),
            run_timeout_s: spec.run_timeout_s,
            deadline: started + Duration::from_secs_f64(spec.run_timeout_s),
            started,
            max_line,
            counters: Counters::default(),
        })
    }

    /// Seconds since the program started.
    pub(crate) fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Sends one message (a JSON object on one line).
    pub(crate) fn send<M: serde::Serialize + ?Sized>(&mut self, msg: &M) -> Result<()> {
        let t0 = Instant::now();
        let mut line = serde_json::to_vec(msg).map_err(|e| ExternalError::Io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.counters.sent += 1;
        self.counters.bytes_sent += line.len() as u64;
        let sent = self.to_child.as_ref().is_some_and(|tx| tx.send(line).is_ok());
        self.counters.pipe += t0.elapsed();
        if !sent {
            // The writer thread stops when the program closes its stdin (it exited, most likely).
            return Err(self.exited_error("the solver to read its input"));
        }
        Ok(())
    }

    /// Waits for the program's next message; `message_timeout` applies the per-message limit on top of the run's.
    pub(crate) fn recv(&mut self, waiting: &str, message_timeout: bool) -> Result<Incoming> {
        let now = Instant::now();
        let message_deadline = now + self.message_timeout;
        let (deadline, which) = if message_timeout && message_deadline < self.deadline {
            (message_deadline, "message")
        } else {
            (self.deadline, "run")
        };
        let event = self.from_child.recv_timeout(deadline.saturating_duration_since(now));
        let t1 = Instant::now();
        self.counters.waiting += t1 - now;
        let line = match event {
            Ok(Event::Line(line)) => line,
            Err(RecvTimeoutError::Timeout) => {
                let limit_s = if which == "message" { self.message_timeout.as_secs_f64() } else { self.run_timeout_s };
                return Err(ExternalError::Timeout { waiting: waiting.into(), which, limit_s });
            }
            Ok(Event::Eof) | Err(RecvTimeoutError::Disconnected) => return Err(self.exited_error(waiting)),
            Ok(Event::TooLong) => {
                return Err(ExternalError::Protocol {
                    waiting: waiting.into(),
                    reason: format!("a line longer than {} bytes (max_line_bytes)", self.max_line),
                })
            }
            Ok(Event::NotUtf8) => {
                return Err(ExternalError::Protocol {
                    waiting: waiting.into(),
                    reason: "a line that is not UTF-8".into(),
                })
            }
            Ok(Event::Failed(e)) => return Err(ExternalError::Io(e)),
        };
        self.counters.received += 1;
        self.counters.bytes_received += line.len() as u64 + 1;
        let parsed = parse(&line, waiting);
        self.counters.pipe += t1.elapsed();
        match parsed? {
            Incoming::Error { message } => Err(ExternalError::Reported { message: message + &self.stderr_tail() }),
            msg => Ok(msg),
        }
    }

    /// Says `bye`, closes the program's stdin and waits for it to exit (killing it after [`SHUTDOWN_GRACE`]).
    pub(crate) fn shutdown(&mut self) -> Result<()> {
        let _ = self.send(&serde_json::json!({"type": "bye"}));
        self.to_child = None;
        let status = wait_timeout::ChildExt::wait_timeout(&mut self.child, SHUTDOWN_GRACE)?;
        self.exited = true;
        match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => {
                Err(ExternalError::Shutdown { reason: format!("it exited with {s}"), stderr: self.stderr_tail() })
            }
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(ExternalError::Shutdown {
                    reason: format!("it was still running {} s after `bye`, and was killed", SHUTDOWN_GRACE.as_secs()),
                    stderr: self.stderr_tail(),
                })
            }
        }
    }

    /// The error for a program that stopped talking: its exit status (after a short wait) and its last stderr.
    fn exited_error(&mut self, waiting: &str) -> ExternalError {
        let status = wait_timeout::ChildExt::wait_timeout(&mut self.child, Duration::from_millis(500))
            .ok()
            .flatten()
            .map(|s| {
                self.exited = true;
                format!(": {s}")
            })
            .unwrap_or_default();
        ExternalError::Exited { waiting: waiting.into(), status, stderr: self.stderr_tail() }
    }

    /// The last stderr lines, as a suffix for an error message (empty when there were none).
    fn stderr_tail(&self) -> String {
        // The forwarding thread may still be reading the program's last words.
        std::thread::sleep(Duration::from_millis(50));
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            String::new()
        } else {
            format!(
                "; its last stderr lines ({}):\n  {}",
                self.label,
                tail.iter().cloned().collect::<Vec<_>>().join("\n  ")
            )
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A run that failed (or was never finished) must not leave its program behind.
        if !self.exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Parses one line into a message, with errors that quote it.
pub(crate) fn parse(line: &str, waiting: &str) -> Result<Incoming> {
    let quote = || {
        let mut q: String = line.chars().take(QUOTE).collect();
        if q.len() < line.len() {
            q.push_str("...");
        }
        q
    };
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        let hint = if line.contains("NaN") || line.contains("Infinity") {
            " (NaN and Infinity are not JSON: send null, which the harness counts as no answer)"
        } else {
            " (stdout is reserved for protocol messages: print logs to stderr)"
        };
        ExternalError::NotJson { waiting: waiting.into(), line: quote(), err: e.to_string(), hint: hint.into() }
    })?;
    serde_json::from_value(value)
        .map_err(|e| ExternalError::Protocol { waiting: waiting.into(), reason: format!("{e} in `{}`", quote()) })
}

/// Feeds the program's stdin; batches what is queued into one flush. Ends (closing stdin) when the session drops
/// its sender or the program stops reading.
fn write_loop(stdin: std::process::ChildStdin, rx: Receiver<Vec<u8>>) {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, stdin);
    while let Ok(line) = rx.recv() {
        let mut ok = w.write_all(&line).is_ok();
        while let (true, Ok(more)) = (ok, rx.try_recv()) {
            ok = w.write_all(&more).is_ok();
        }
        if !ok || w.flush().is_err() {
            return;
        }
    }
}

/// Cuts the program's stdout into lines of at most `max_line` bytes.
fn read_loop(stdout: std::process::ChildStdout, max_line: usize, tx: mpsc::SyncSender<Event>) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let event = match reader.by_ref().take(max_line as u64 + 1).read_until(b'\n', &mut buf) {
            Ok(0) => Event::Eof,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                } else if buf.len() > max_line {
                    let _ = tx.send(Event::TooLong);
                    return;
                }
                match String::from_utf8(std::mem::take(&mut buf)) {
                    Ok(line) => Event::Line(line),
                    Err(_) => Event::NotUtf8,
                }
            }
            Err(e) => Event::Failed(e),
        };
        let last = !matches!(event, Event::Line(_));
        if tx.send(event).is_err() || last {
            return;
        }
    }
}

/// Forwards the program's stderr to ours, line by line with a prefix, keeping the last lines.
fn stderr_loop(stderr: std::process::ChildStderr, prefix: &str, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.by_ref().take(1 << 16).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                eprintln!("[{prefix}] {line}");
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    }
}

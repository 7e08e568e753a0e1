//! What can go wrong with a solver program, each with the context a user needs to fix it.

/// Errors of a solver program or of speaking to it. Each ends that program's run, never another.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// The command does not split into words, or names nothing.
    #[error("command `{command}` {reason}")]
    Command {
        /// The command as given.
        command: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The program could not be started.
    #[error("could not start `{program}`: {err}")]
    Spawn {
        /// The program (first word of the command).
        program: String,
        /// The OS error.
        err: std::io::Error,
    },
    /// The program closed its output or exited while the harness waited for a message.
    #[error("the solver exited early, while the harness waited for {waiting}{status}{stderr}")]
    Exited {
        /// What the harness was waiting for.
        waiting: String,
        /// `: exit status N`, when known.
        status: String,
        /// The last lines the program wrote to stderr, if any.
        stderr: String,
    },
    /// The program wrote a line that is not JSON.
    #[error("the solver wrote a line that is not JSON ({err}) while the harness waited for {waiting}: `{line}`{hint}")]
    NotJson {
        /// What the harness was waiting for.
        waiting: String,
        /// The start of the line.
        line: String,
        /// The parser's message.
        err: String,
        /// A hint for common mistakes (NaN, print statements).
        hint: String,
    },
    /// The program wrote JSON that breaks the protocol (an unknown or unexpected message, a wrong id).
    #[error("protocol violation while the harness waited for {waiting}: {reason}")]
    Protocol {
        /// What the harness was waiting for.
        waiting: String,
        /// What was wrong.
        reason: String,
    },
    /// The program took longer than a limit.
    #[error("the solver did not answer within {limit_s} s ({which} timeout) while the harness waited for {waiting}")]
    Timeout {
        /// What the harness was waiting for.
        waiting: String,
        /// `message` or `run`.
        which: &'static str,
        /// The limit, s.
        limit_s: f64,
    },
    /// The program asked for more than its budget allows.
    #[error("the solver exceeded its budget: {what} (raise it in the solver file)")]
    Budget {
        /// What ran out.
        what: String,
    },
    /// The program said it cannot go on.
    #[error("the solver reported an error: {message}")]
    Reported {
        /// Its message.
        message: String,
    },
    /// The program did not shut down cleanly.
    #[error("the solver did not shut down cleanly: {reason}{stderr}")]
    Shutdown {
        /// What happened.
        reason: String,
        /// The last lines the program wrote to stderr, if any.
        stderr: String,
    },
    /// Writing to or reading from the program failed.
    #[error("talking to the solver failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias of this crate.
pub type Result<T, E = ExternalError> = std::result::Result<T, E>;

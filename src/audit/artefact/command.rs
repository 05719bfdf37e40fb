//! Commands found in artefacts (Dockerfile `CMD`, Kubernetes `command`/`args`, compose
//! `command`, healthcheck tests): what program they launch, the port it listens on, the URL a
//! healthcheck probes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `["uvicorn", "app:app"]`: the program is PID 1 and gets signals.
    Exec,
    /// `uvicorn app:app`: run through `/bin/sh -c`, which does not forward SIGTERM.
    Shell,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub form: Form,
    /// The words, for the shell form split like a shell would (quotes, no expansion).
    pub words: Vec<String>,
    /// The command as written.
    pub text: String,
}

impl Command {
    /// A Dockerfile-style argument: a JSON array of strings is the exec form.
    pub fn parse(args: &str) -> Command {
        let text = args.trim().to_string();
        if text.starts_with('[')
            && let Ok(words) = serde_json::from_str::<Vec<String>>(&text)
        {
            return Command {
                form: Form::Exec,
                words,
                text,
            };
        }
        Command {
            form: Form::Shell,
            words: shell_words(&text),
            text,
        }
    }

    /// An argument vector (Kubernetes `command` + `args`, compose list form).
    pub fn exec(words: Vec<String>) -> Command {
        Command {
            form: Form::Exec,
            text: words.join(" "),
            words,
        }
    }

    /// The words of the program actually launched: `sh -c "..."` unwrapped; leading `exec`,
    /// `env`, `VAR=value` assignments, `opentelemetry-instrument` and `python -m` dropped.
    pub fn program(&self) -> Vec<String> {
        let mut words = self.words.clone();
        if words.len() >= 3
            && matches!(words[0].as_str(), "sh" | "/bin/sh" | "bash" | "/bin/bash")
            && words[1] == "-c"
        {
            words = shell_words(&words[2]);
        }
        // Only the last command of `a && b` runs the server.
        if let Some(pos) = words.iter().rposition(|w| w == "&&" || w == ";") {
            words.drain(..=pos);
        }
        while let Some(first) = words.first() {
            let base = first.rsplit('/').next().unwrap_or(first);
            if base == "exec" || base == "env" || (first.contains('=') && !first.starts_with('-')) {
                words.remove(0);
            } else if base == "opentelemetry-instrument" {
                words.remove(0);
                // Its own `--flag value` options.
                while words.first().is_some_and(|w| w.starts_with("--")) {
                    let w = words.remove(0);
                    if !w.contains('=') && !words.is_empty() {
                        words.remove(0);
                    }
                }
            } else if base.starts_with("python") && words.get(1).is_some_and(|w| w == "-m") {
                words.drain(..2);
            } else {
                break;
            }
        }
        words
    }

    fn program_name(&self) -> Option<String> {
        let p = self.program();
        let first = p.first()?;
        Some(first.rsplit('/').next().unwrap_or(first).to_string())
    }

    /// `opentelemetry-instrument` launches the program with auto-instrumentation.
    pub fn traced(&self) -> bool {
        let all = if self.form == Form::Exec && self.words.len() >= 3 && self.words[1] == "-c" {
            shell_words(&self.words[2])
        } else {
            self.words.clone()
        };
        all.iter()
            .any(|w| w.rsplit('/').next() == Some("opentelemetry-instrument"))
    }

    /// The program is an ASGI/WSGI server for an HTTP app.
    pub fn is_http_server(&self) -> bool {
        matches!(
            self.program_name().as_deref(),
            Some("uvicorn" | "gunicorn" | "hypercorn" | "granian" | "fastapi" | "daphne")
        )
    }

    /// A worker process: `celery -A app worker`, `dramatiq`, `rq worker`, `taskiq worker`.
    pub fn is_worker(&self) -> bool {
        let p = self.program();
        let has = |w: &str| p.iter().any(|x| x == w);
        match self.program_name().as_deref() {
            Some("celery") => has("worker"),
            Some("dramatiq") => true,
            Some("rq" | "taskiq") => has("worker"),
            Some("faststream") => has("run"),
            _ => false,
        }
    }

    /// The port an HTTP server listens on: `--port N`, `--bind host:N`, `-b :N`, or the
    /// server's default (8000). `${PORT:-8080}` counts as its default.
    pub fn listen_port(&self) -> Option<u16> {
        if !self.is_http_server() {
            return None;
        }
        let p = self.program();
        let mut i = 0;
        while i < p.len() {
            let w = &p[i];
            let (flag, inline) = match w.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
                _ => (w.as_str(), None),
            };
            let value = || inline.clone().or_else(|| p.get(i + 1).cloned());
            match flag {
                "--port" | "-p" if !p[0].ends_with("gunicorn") => {
                    return value().and_then(|v| port_number(&v));
                }
                "--bind" | "-b" => {
                    let v = value()?;
                    let port = v.rsplit_once(':').map(|(_, p)| p)?;
                    return port_number(port);
                }
                _ => {}
            }
            i += 1;
        }
        Some(8000)
    }

    /// The first `http(s)://` URL in the command: (port, path).
    pub fn probe_url(&self) -> Option<(Option<u16>, String)> {
        probe_url(&self.text)
    }
}

/// A port literal, or the default of `${VAR:-N}`.
fn port_number(v: &str) -> Option<u16> {
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    if let Some(inner) = v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return inner.split_once(":-").and_then(|(_, d)| d.parse().ok());
    }
    v.parse().ok()
}

/// The first `http(s)://host[:port]/path` in `text`.
pub fn probe_url(text: &str) -> Option<(Option<u16>, String)> {
    let start = text.find("http://").or_else(|| text.find("https://"))?;
    let rest = &text[start..];
    let after_scheme = &rest[rest.find("://")? + 3..];
    let end = after_scheme
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ',' | '`'))
        .unwrap_or(after_scheme.len());
    let url = &after_scheme[..end];
    let (authority, path) = match url.find('/') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let port = authority.rsplit_once(':').and_then(|(_, p)| port_number(p));
    Some((port, path.to_string()))
}

/// Split like a POSIX shell (quotes and backslashes), without expanding anything.
pub fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let c =
            Command::parse(r#"["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8080"]"#);
        assert_eq!(c.form, Form::Exec);
        assert_eq!(c.listen_port(), Some(8080));
        assert_eq!(Command::parse("uvicorn app:app").listen_port(), Some(8000));
        assert_eq!(
            Command::parse("gunicorn -k uvicorn.workers.UvicornWorker --bind 0.0.0.0:9000 app:app")
                .listen_port(),
            Some(9000)
        );
        assert_eq!(
            Command::parse("exec opentelemetry-instrument --service_name x python -m uvicorn app:app --port=${PORT:-7000}")
                .listen_port(),
            Some(7000)
        );
        assert_eq!(
            Command::parse("uvicorn app:app --port $PORT").listen_port(),
            None
        );
        assert_eq!(Command::parse("celery -A app worker").listen_port(), None);
    }

    #[test]
    fn kinds_and_tracing() {
        assert!(Command::parse("celery -A app.tasks worker -l info").is_worker());
        assert!(!Command::parse("celery -A app.tasks beat").is_worker());
        assert!(
            Command::parse(r#"["sh", "-c", "opentelemetry-instrument uvicorn app:app"]"#).traced()
        );
        assert!(
            Command::parse(r#"["sh", "-c", "alembic upgrade head && uvicorn app:app"]"#)
                .is_http_server()
        );
        assert_eq!(
            shell_words(r#"a "b c" 'd e' f\ g"#),
            vec!["a", "b c", "d e", "f g"]
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            probe_url("curl -fsS http://localhost:8000/healthz?x=1 || exit 1"),
            Some((Some(8000), "/healthz".to_string()))
        );
        assert_eq!(
            probe_url("python -c \"urllib.request.urlopen('http://127.0.0.1/ready')\""),
            Some((None, "/ready".to_string()))
        );
        assert_eq!(probe_url("pg_isready"), None);
    }
}

//! `[[constraints]]`: rules across variables, for values that are each valid alone but break
//! the generated service together (a soft time limit above the hard one).
//!
//! A rule is one comparison, `VARIABLE OP VARIABLE` or `VARIABLE OP LITERAL`, with OP one of
//! `<`, `<=`, `>`, `>=`, `==`, `!=`. A literal is a whole number, `true` or `false`, or a
//! string in single or double quotes. `<`, `<=`, `>` and `>=` compare whole numbers; `==` and
//! `!=` compare values of the same type. That is the whole language: nothing is evaluated,
//! so a template cannot run code through it.

use std::fmt;

use super::manifest::VarValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    pub fn is_ordering(self) -> bool {
        !matches!(self, Op::Eq | Op::Ne)
    }

    fn words(self) -> &'static str {
        match self {
            Op::Lt => "less than",
            Op::Le => "at most",
            Op::Gt => "greater than",
            Op::Ge => "at least",
            Op::Eq => "equal to",
            Op::Ne => "different from",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let symbol = Op::ALL
            .iter()
            .find(|(_, op)| op == self)
            .map_or("?", |(symbol, _)| symbol);
        f.write_str(symbol)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Variable(String),
    Literal(VarValue),
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Variable(name) => write!(f, "`{name}`"),
            Operand::Literal(VarValue::String(s)) => write!(f, "{s:?}"),
            Operand::Literal(value) => write!(f, "{value}"),
        }
    }
}

/// `left op right`, as parsed from `rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub left: String,
    pub op: Op,
    pub right: Operand,
}

impl Rule {
    /// Reads a rule; the error says what was expected where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens = Tokens { rest: text };
        let left = match tokens.next()? {
            Some(Token::Word(word)) if word != "true" && word != "false" => word.to_owned(),
            Some(token) => {
                return Err(format!("a rule starts with a variable name, not {token}"));
            }
            None => return Err("the rule is empty".to_owned()),
        };
        let op = match tokens.next()? {
            Some(Token::Op(op)) => op,
            Some(token) => {
                return Err(format!(
                    "expected one of < <= > >= == != after `{left}`, found {token}"
                ));
            }
            None => {
                return Err(format!("expected one of < <= > >= == != after `{left}`"));
            }
        };
        let right = match tokens.next()? {
            Some(Token::Word("true")) => Operand::Literal(VarValue::Bool(true)),
            Some(Token::Word("false")) => Operand::Literal(VarValue::Bool(false)),
            Some(Token::Word(word)) => Operand::Variable(word.to_owned()),
            Some(Token::Int(i)) => Operand::Literal(VarValue::Int(i)),
            Some(Token::Str(s)) => Operand::Literal(VarValue::String(s.to_owned())),
            Some(token @ Token::Op(_)) => {
                return Err(format!(
                    "expected a variable or a value after `{op}`, found {token}"
                ));
            }
            None => return Err(format!("expected a variable or a value after `{op}`")),
        };
        if let Some(token) = tokens.next()? {
            return Err(format!(
                "unexpected {token} after the comparison; a rule is one comparison (write one \
                 [[constraints]] table for each)"
            ));
        }
        Ok(Self { left, op, right })
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        let right = match &self.right {
            Operand::Variable(name) => Some(name.as_str()),
            Operand::Literal(_) => None,
        };
        std::iter::once(self.left.as_str()).chain(right)
    }

    /// Whether the values hold the rule; `None` while one of them is not known yet. Values of
    /// different types (which the manifest parser rules out) never hold.
    pub fn holds<'v>(&self, value_of: impl Fn(&str) -> Option<&'v VarValue>) -> Option<bool> {
        let left = value_of(&self.left)?;
        let right = match &self.right {
            Operand::Variable(name) => value_of(name)?,
            Operand::Literal(value) => value,
        };
        Some(match (left, right) {
            (VarValue::Int(a), VarValue::Int(b)) => match self.op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Eq => a == b,
                Op::Ne => a != b,
            },
            (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => match self.op {
                Op::Eq => a == b,
                Op::Ne => a != b,
                _ => false,
            },
            _ => false,
        })
    }

    /// The rule in words, for a manifest that gives no `message`.
    pub fn describe(&self) -> String {
        format!("`{}` must be {} {}", self.left, self.op.words(), self.right)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let right = match &self.right {
            Operand::Variable(name) => name.clone(),
            Operand::Literal(VarValue::String(s)) => format!("{s:?}"),
            Operand::Literal(value) => value.to_string(),
        };
        write!(f, "{} {} {right}", self.left, self.op)
    }
}

/// A rule with the words users see when their answers break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub rule: Rule,
    pub message: String,
}

impl Constraint {
    /// Checks the rule once every value it names is known: `Err` says how the values break it.
    pub fn check<'v>(&self, value_of: impl Fn(&str) -> Option<&'v VarValue>) -> Result<(), String> {
        match self.rule.holds(&value_of) {
            Some(false) => {
                let values: Vec<String> = self
                    .rule
                    .variables()
                    .filter_map(|name| {
                        value_of(name).map(|value| match value {
                            VarValue::String(s) => format!("{name} = {s:?}"),
                            other => format!("{name} = {other}"),
                        })
                    })
                    .collect();
                Err(format!("{} ({})", self.message, values.join(", ")))
            }
            Some(true) | None => Ok(()),
        }
    }
}

enum Token<'a> {
    Word(&'a str),
    Int(i64),
    Str(&'a str),
    Op(Op),
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => write!(f, "`{word}`"),
            Token::Int(i) => write!(f, "`{i}`"),
            Token::Str(s) => write!(f, "the string {s:?}"),
            Token::Op(op) => write!(f, "`{op}`"),
        }
    }
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Result<Option<Token<'a>>, String> {
        self.rest = self.rest.trim_start();
        let Some(first) = self.rest.chars().next() else {
            return Ok(None);
        };
        if let Some((symbol, op)) = Op::ALL.iter().find(|(s, _)| self.rest.starts_with(s)) {
            self.rest = &self.rest[symbol.len()..];
            return Ok(Some(Token::Op(*op)));
        }
        if first == '=' {
            return Err("`=` alone does not compare: write `==`".to_owned());
        }
        if first == '"' || first == '\'' {
            let body = &self.rest[1..];
            let Some(end) = body.find(first) else {
                return Err(format!("the string {first}{body} is not closed"));
            };
            self.rest = &body[end + 1..];
            return Ok(Some(Token::Str(&body[..end])));
        }
        let end = self
            .rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(self.rest.len(), |(i, _)| i);
        let word = &self.rest[..end];
        if first == '-' || first.is_ascii_digit() {
            let number = word
                .parse::<i64>()
                .map_err(|_| format!("`{word}` is not a whole number that fits in 64 bits"))?;
            self.rest = &self.rest[end..];
            return Ok(Some(Token::Int(number)));
        }
        if first.is_ascii_alphabetic() || first == '_' {
            self.rest = &self.rest[end..];
            return Ok(Some(Token::Word(word)));
        }
        Err(format!(
            "unexpected `{first}`: a rule compares a variable with a variable or a value, \
             using < <= > >= == !="
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(pairs: &'a [(&'a str, VarValue)]) -> impl Fn(&str) -> Option<&'a VarValue> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    #[test]
    fn parses_each_operator_and_operand() {
        let rule = Rule::parse("soft_time_limit<time_limit").unwrap();
        assert_eq!(
            rule,
            Rule {
                left: "soft_time_limit".into(),
                op: Op::Lt,
                right: Operand::Variable("time_limit".into())
            }
        );
        assert_eq!(rule.to_string(), "soft_time_limit < time_limit");
        for (text, op) in [
            ("a <= 1", Op::Le),
            ("a >= -1", Op::Ge),
            ("a > 0", Op::Gt),
            ("a == true", Op::Eq),
            ("a != 'x y'", Op::Ne),
            ("a != \"x\"", Op::Ne),
        ] {
            assert_eq!(Rule::parse(text).unwrap().op, op, "{text}");
        }
        assert_eq!(
            Rule::parse("a != 'x y'").unwrap().right,
            Operand::Literal(VarValue::String("x y".into()))
        );
        assert_eq!(
            Rule::parse("a >= -1").unwrap().right,
            Operand::Literal(VarValue::Int(-1))
        );
    }

    #[test]
    fn malformed_rules_say_what_was_expected() {
        for (text, reason) in [
            ("", "the rule is empty"),
            ("1 < a", "starts with a variable name, not `1`"),
            ("a", "expected one of < <= > >= == != after `a`"),
            ("a = b", "`=` alone does not compare"),
            ("a < ", "expected a variable or a value after `<`"),
            (
                "a < < b",
                "expected a variable or a value after `<`, found `<`",
            ),
            ("a < b and c", "unexpected `and` after the comparison"),
            ("a < b + 1", "unexpected `+`"),
            ("a == 'x", "is not closed"),
            (
                "a < 99999999999999999999",
                "not a whole number that fits in 64 bits",
            ),
            ("len(a) < 3", "unexpected `(`"),
        ] {
            let err = Rule::parse(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }

    #[test]
    fn holds_compares_known_values_only() {
        let rule = Rule::parse("soft < hard").unwrap();
        let known = [("soft", VarValue::Int(240)), ("hard", VarValue::Int(300))];
        assert_eq!(rule.holds(values(&known)), Some(true));
        let broken = [("soft", VarValue::Int(300)), ("hard", VarValue::Int(300))];
        assert_eq!(rule.holds(values(&broken)), Some(false));
        assert_eq!(rule.holds(values(&known[..1])), None);

        let rule = Rule::parse("broker != 'rabbitmq'").unwrap();
        let known = [("broker", VarValue::String("redis".into()))];
        assert_eq!(rule.holds(values(&known)), Some(true));
    }

    #[test]
    fn a_broken_constraint_names_the_values() {
        let constraint = Constraint {
            rule: Rule::parse("soft < hard").unwrap(),
            message: "the soft limit must be below the hard one".into(),
        };
        let broken = [("soft", VarValue::Int(86400)), ("hard", VarValue::Int(2))];
        assert_eq!(
            constraint.check(values(&broken)),
            Err("the soft limit must be below the hard one (soft = 86400, hard = 2)".into())
        );
        assert_eq!(
            Rule::parse("soft < hard").unwrap().describe(),
            "`soft` must be less than `hard`"
        );
        assert_eq!(
            Rule::parse("broker != \"rabbitmq\"").unwrap().describe(),
            "`broker` must be different from \"rabbitmq\""
        );
    }
}

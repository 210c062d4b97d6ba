//! keepalived.conf as a tree of statements: words on a line, optionally followed by a `{ }`
//! block. `#` and `!` start comments, double quotes group words, and `include PATTERN` (glob,
//! anywhere) splices other files in. Every statement keeps its file and line for messages.

use std::{
    fs,
    path::{Path, PathBuf},
};

use thiserror::Error;

/// Includes nested deeper than this are refused (keepalived's own limit is similar).
const MAX_INCLUDE_DEPTH: usize = 8;

/// One statement, e.g. `priority 100` or `vrrp_instance VI_1 { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    /// The first word.
    pub(super) keyword: String,
    /// The other words on its line.
    pub(super) args: Vec<String>,
    /// The statements of its block (empty when it has none).
    pub(super) block: Vec<Statement>,
    /// Where it is.
    pub(super) at: Location,
}

/// A file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Why a keepalived.conf could not be read at all.
#[derive(Debug, Error)]
pub enum ParseError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A `}` without its `{`, or a block left open.
    #[error("{at}: {what}")]
    Unbalanced {
        /// Where.
        at: Location,
        /// `unexpected '}'` or `'{' is never closed`.
        what: &'static str,
    },
    /// An include pattern that is not a valid glob.
    #[error("{at}: include pattern {pattern:?} is invalid: {reason}")]
    IncludePattern {
        /// Where.
        at: Location,
        /// The pattern.
        pattern: String,
        /// What glob said.
        reason: String,
    },
    /// Includes nested too deep (an include loop, most likely).
    #[error("{at}: includes nested more than {MAX_INCLUDE_DEPTH} deep")]
    IncludeDepth {
        /// Where.
        at: Location,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    EndOfLine,
}

/// Reads `path` and everything it includes. Absolute include paths are looked up under
/// `include_root` when given (a configuration copied from another machine); relative ones next
/// to the including file.
pub(super) fn read_file(
    path: &Path,
    include_root: Option<&Path>,
) -> Result<Vec<Statement>, ParseError> {
    read_nested(path, include_root, 0)
}

fn read_nested(
    path: &Path,
    include_root: Option<&Path>,
    depth: usize,
) -> Result<Vec<Statement>, ParseError> {
    let text = fs::read_to_string(path).map_err(|source| ParseError::Read {
        path: path.to_owned(),
        source,
    })?;
    let tokens = tokenize(&text);
    let mut cursor = 0;
    let statements = parse_block(path, &tokens, &mut cursor, None)?;
    expand_includes(path, statements, include_root, depth)
}

/// Splits `text` into tokens, each with its 1-based line.
fn tokenize(text: &str) -> Vec<(Token, usize)> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let mut word = String::new();
        let mut quoted = false;
        let flush = |word: &mut String, tokens: &mut Vec<(Token, usize)>| {
            if !word.is_empty() {
                tokens.push((Token::Word(std::mem::take(word)), number));
            }
        };
        for character in line.chars() {
            match character {
                '"' => {
                    quoted = !quoted;
                    if !quoted {
                        // An empty quoted string is still a word.
                        tokens.push((Token::Word(std::mem::take(&mut word)), number));
                    }
                }
                _ if quoted => word.push(character),
                '#' | '!' => break,
                '{' | '}' => {
                    flush(&mut word, &mut tokens);
                    let token = if character == '{' {
                        Token::Open
                    } else {
                        Token::Close
                    };
                    tokens.push((token, number));
                }
                c if c.is_whitespace() => flush(&mut word, &mut tokens),
                c => word.push(c),
            }
        }
        flush(&mut word, &mut tokens);
        tokens.push((Token::EndOfLine, number));
    }
    tokens
}

/// Statements until the `}` that closes `opened_at` (or the end of the file at the top).
fn parse_block(
    file: &Path,
    tokens: &[(Token, usize)],
    cursor: &mut usize,
    opened_at: Option<usize>,
) -> Result<Vec<Statement>, ParseError> {
    let at = |line| Location {
        file: file.to_owned(),
        line,
    };
    let mut statements: Vec<Statement> = Vec::new();
    let mut current: Option<Statement> = None;
    while let Some((token, line)) = tokens.get(*cursor) {
        *cursor += 1;
        match token {
            Token::Word(word) => match &mut current {
                Some(statement) => statement.args.push(word.clone()),
                None => {
                    current = Some(Statement {
                        keyword: word.clone(),
                        args: Vec::new(),
                        block: Vec::new(),
                        at: at(*line),
                    });
                }
            },
            Token::EndOfLine => statements.extend(current.take()),
            Token::Open => {
                let block = parse_block(file, tokens, cursor, Some(*line))?;
                // A block opened on a line of its own belongs to the statement before it
                // (`vrrp_instance VI_1` then `{` on the next line).
                match current.take().or_else(|| statements.pop()) {
                    Some(mut statement) => {
                        statement.block = block;
                        statements.push(statement);
                    }
                    None => statements.extend(block),
                }
            }
            Token::Close => {
                statements.extend(current.take());
                return match opened_at {
                    Some(_) => Ok(statements),
                    None => Err(ParseError::Unbalanced {
                        at: at(*line),
                        what: "unexpected '}'",
                    }),
                };
            }
        }
    }
    statements.extend(current.take());
    match opened_at {
        Some(line) => Err(ParseError::Unbalanced {
            at: at(line),
            what: "'{' is never closed",
        }),
        None => Ok(statements),
    }
}

/// Replaces every `include PATTERN` (at any depth) with the statements of the files it names.
fn expand_includes(
    file: &Path,
    statements: Vec<Statement>,
    include_root: Option<&Path>,
    depth: usize,
) -> Result<Vec<Statement>, ParseError> {
    let mut expanded = Vec::new();
    for mut statement in statements {
        if statement.keyword != "include" {
            statement.block = expand_includes(file, statement.block, include_root, depth)?;
            expanded.push(statement);
            continue;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(ParseError::IncludeDepth { at: statement.at });
        }
        for pattern in &statement.args {
            let resolved = match (Path::new(pattern).strip_prefix("/"), include_root) {
                (Ok(relative), Some(root)) => root.join(relative),
                (Ok(_), None) => PathBuf::from(pattern),
                (Err(_), _) => file.parent().unwrap_or(Path::new(".")).join(pattern),
            };
            let matches = glob::glob(&resolved.to_string_lossy()).map_err(|error| {
                ParseError::IncludePattern {
                    at: statement.at.clone(),
                    pattern: pattern.clone(),
                    reason: error.to_string(),
                }
            })?;
            // glob yields sorted paths, as keepalived reads them.
            for included in matches.flatten() {
                expanded.extend(read_nested(&included, include_root, depth + 1)?);
            }
        }
    }
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<Statement>, ParseError> {
        let tokens = tokenize(text);
        parse_block(Path::new("k.conf"), &tokens, &mut 0, None)
    }

    #[test]
    fn blocks_comments_quotes_and_braces_on_their_own_line() {
        let tree = parse_text(
            "! comment\nvrrp_instance VI_1\n{\n  state MASTER # trailing\n  notify \"/bin/x a\"\n  \
             virtual_ipaddress {\n 192.0.2.1/24 dev eth0\n }\n}\n",
        )
        .unwrap();
        assert_eq!(tree.len(), 1);
        let instance = &tree[0];
        assert_eq!(
            (instance.keyword.as_str(), instance.args.as_slice()),
            ("vrrp_instance", &["VI_1".to_owned()][..])
        );
        assert_eq!(instance.at.line, 2);
        let keywords: Vec<&str> = instance.block.iter().map(|s| s.keyword.as_str()).collect();
        assert_eq!(keywords, ["state", "notify", "virtual_ipaddress"]);
        assert_eq!(instance.block[1].args, ["/bin/x a"]);
        assert_eq!(instance.block[2].block[0].args, ["dev", "eth0"]);
        assert_eq!(instance.block[2].block[0].at.line, 7);
    }

    #[test]
    fn unbalanced_braces_are_errors_with_their_line() {
        let open = parse_text("a {\n b\n").unwrap_err();
        assert_eq!(open.to_string(), "k.conf:1: '{' is never closed");
        let close = parse_text("a\n}\n").unwrap_err();
        assert_eq!(close.to_string(), "k.conf:2: unexpected '}'");
    }
}

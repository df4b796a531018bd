//! Statement normalization: the key under which executions of "the same query" are grouped.
//!
//! Literals become `?` (strings, numbers, blobs, dollar-quoted bodies), so do bind placeholders
//! (`$1`, `?2`, `:name`, `@name`), so the same statement from SQLite and PostgreSQL code gets
//! the same key. Comments go, runs of whitespace become one space, `IN (?, ?, ?)` becomes
//! `IN (...)` whatever the list's length, a trailing `;` is dropped. Identifiers, keywords and
//! quoted identifiers (`"users"`, `` `users` ``, `[users]`) are kept as written.

/// The grouping key of `sql`: literals and placeholders replaced by `?`, comments removed,
/// whitespace collapsed, `IN` lists folded to `IN (...)`.
pub fn normalize(sql: &str) -> String {
    let tokens = tokenize(sql);
    let tokens = fold_in_lists(tokens);
    render(&tokens)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A keyword, identifier, or quoted identifier, as written.
    Word(String),
    /// A literal or placeholder: printed as `?`.
    Value,
    /// `IN (...)`'s folded list.
    List,
    /// Punctuation or an operator.
    Punct(String),
}

struct Token {
    tok: Tok,
    /// Whitespace or a comment came before it in the source.
    spaced: bool,
}

fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    let mut spaced = false;
    let push = |out: &mut Vec<Token>, tok: Tok, spaced: &mut bool| {
        out.push(Token {
            tok,
            spaced: *spaced,
        });
        *spaced = false;
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Whitespace and comments separate tokens.
        if c.is_whitespace() {
            spaced = true;
            i += 1;
            continue;
        }
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            spaced = true;
            continue;
        }
        if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            spaced = true;
            continue;
        }
        // String literals, with the prefixes SQL dialects allow: E'..', N'..', X'..', B'..'.
        let prefixed = matches!(c, 'e' | 'E' | 'n' | 'N' | 'x' | 'X' | 'b' | 'B')
            && next == Some('\'')
            && !prev_is_word_char(&chars, i);
        if c == '\'' || prefixed {
            let backslash_escapes = matches!(c, 'e' | 'E');
            i += if prefixed { 2 } else { 1 };
            i = skip_quoted(&chars, i, '\'', backslash_escapes);
            push(&mut out, Tok::Value, &mut spaced);
            continue;
        }
        // Quoted identifiers stay: they name things.
        if c == '"' || c == '`' {
            let start = i;
            i = skip_quoted(&chars, i + 1, c, false);
            push(
                &mut out,
                Tok::Word(chars[start..i].iter().collect()),
                &mut spaced,
            );
            continue;
        }
        if c == '[' && prev_allows_bracket_ident(&out) {
            let start = i;
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i = (i + 1).min(chars.len());
            push(
                &mut out,
                Tok::Word(chars[start..i].iter().collect()),
                &mut spaced,
            );
            continue;
        }
        // PostgreSQL dollar quoting: $$...$$ or $tag$...$tag$.
        if c == '$' {
            if let Some(end) = dollar_quote_end(&chars, i) {
                i = end;
                push(&mut out, Tok::Value, &mut spaced);
                continue;
            }
            // A numbered placeholder: $1.
            if next.is_some_and(|d| d.is_ascii_digit()) {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                push(&mut out, Tok::Value, &mut spaced);
                continue;
            }
        }
        // Placeholders: ?, ?NNN, :name, @name (but not PostgreSQL's `::` casts).
        if c == '?' {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            push(&mut out, Tok::Value, &mut spaced);
            continue;
        }
        if (c == ':' || c == '@')
            && next.is_some_and(is_word_start)
            && !(c == ':' && i > 0 && chars[i - 1] == ':')
        {
            i += 1;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            push(&mut out, Tok::Value, &mut spaced);
            continue;
        }
        // Numbers, including a sign that cannot be a binary minus: `= -5`, `(-1`, `, +2`.
        let starts_number =
            c.is_ascii_digit() || (c == '.' && next.is_some_and(|d| d.is_ascii_digit()));
        let signed = (c == '-' || c == '+')
            && next.is_some_and(|d| d.is_ascii_digit() || d == '.')
            && sign_is_unary(&out);
        if starts_number || signed {
            if signed {
                i += 1;
            }
            i = skip_number(&chars, i);
            push(&mut out, Tok::Value, &mut spaced);
            continue;
        }
        if is_word_start(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            push(&mut out, Tok::Word(word), &mut spaced);
            continue;
        }
        // Operators: keep multi-character ones together.
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = if ["<=", ">=", "<>", "!=", "||", "::", "->", "=="].contains(&two.as_str()) {
            two
        } else {
            c.to_string()
        };
        i += op.chars().count();
        push(&mut out, Tok::Punct(op), &mut spaced);
    }
    // A trailing statement terminator is not part of the statement.
    while matches!(out.last(), Some(Token { tok: Tok::Punct(p), .. }) if p == ";") {
        out.pop();
    }
    out
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn prev_is_word_char(chars: &[char], i: usize) -> bool {
    i > 0 && is_word_char(chars[i - 1])
}

/// `[name]` is an identifier after a keyword, operator or comma; after an expression it is an
/// array subscript, which we leave as punctuation.
fn prev_allows_bracket_ident(out: &[Token]) -> bool {
    match out.last() {
        None => true,
        Some(t) => match &t.tok {
            Tok::Punct(p) => p != ")" && p != "]",
            Tok::Word(w) => is_keyword(w),
            Tok::Value | Tok::List => false,
        },
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: [&str; 14] = [
        "SELECT", "FROM", "JOIN", "UPDATE", "INTO", "TABLE", "ON", "WHERE", "AND", "OR", "BY",
        "AS", "SET", "DISTINCT",
    ];
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// A `+`/`-` before a digit is a sign when it follows an operator, `(`, `,`, a keyword, or
/// starts the statement; after a value, an identifier or `)` it is arithmetic.
fn sign_is_unary(out: &[Token]) -> bool {
    match out.last() {
        None => true,
        Some(t) => match &t.tok {
            Tok::Punct(p) => p != ")" && p != "]",
            Tok::Word(w) => is_keyword(w) || is_operator_keyword(w),
            Tok::Value | Tok::List => false,
        },
    }
}

fn is_operator_keyword(word: &str) -> bool {
    [
        "LIMIT", "OFFSET", "VALUES", "THEN", "ELSE", "WHEN", "RETURN", "IS", "NOT", "LIKE",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// Index just past the closing `quote`; a doubled quote is an escaped quote.
fn skip_quoted(chars: &[char], mut i: usize, quote: char, backslash_escapes: bool) -> usize {
    while i < chars.len() {
        let c = chars[i];
        if backslash_escapes && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

fn skip_number(chars: &[char], mut i: usize) -> usize {
    if chars.get(i) == Some(&'0') && matches!(chars.get(i + 1), Some('x' | 'X')) {
        i += 2;
        while i < chars.len() && chars[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
        i += 1;
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|d| d.is_ascii_digit()) {
            i = j;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// If a dollar quote (`$$` or `$tag$`) opens at `i`, the index just past its closing tag.
fn dollar_quote_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        if j == i + 1 && chars[j].is_ascii_digit() {
            return None;
        }
        j += 1;
    }
    if chars.get(j) != Some(&'$') {
        return None;
    }
    let tag = &chars[i..=j];
    let mut k = j + 1;
    while k + tag.len() <= chars.len() {
        if &chars[k..k + tag.len()] == tag {
            return Some(k + tag.len());
        }
        k += 1;
    }
    Some(chars.len())
}

/// `IN ( ? , ? , ? )` → `IN (...)`: a list's length must not split one query into many keys.
fn fold_in_lists(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let is_in = matches!(&tokens[i].tok, Tok::Word(w) if w.eq_ignore_ascii_case("in"));
        if is_in && matches!(tokens.get(i + 1).map(|t| &t.tok), Some(Tok::Punct(p)) if p == "(") {
            // Values separated by commas, then `)`.
            let mut j = i + 2;
            let mut values = 0;
            loop {
                match tokens.get(j).map(|t| &t.tok) {
                    Some(Tok::Value) => {
                        values += 1;
                        j += 1;
                        match tokens.get(j).map(|t| &t.tok) {
                            Some(Tok::Punct(p)) if p == "," => j += 1,
                            Some(Tok::Punct(p)) if p == ")" => break,
                            _ => {
                                values = 0;
                                break;
                            }
                        }
                    }
                    _ => {
                        values = 0;
                        break;
                    }
                }
            }
            if values > 0 {
                let spaced = tokens[i].spaced;
                let paren_spaced = tokens[i + 1].spaced;
                out.push(Token {
                    tok: tokens[i].tok.clone(),
                    spaced,
                });
                out.push(Token {
                    tok: Tok::List,
                    spaced: paren_spaced,
                });
                i = j + 1;
                continue;
            }
        }
        out.push(Token {
            tok: tokens[i].tok.clone(),
            spaced: tokens[i].spaced,
        });
        i += 1;
    }
    out
}

fn render(tokens: &[Token]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Tok> = None;
    for t in tokens {
        let text = match &t.tok {
            Tok::Word(w) => w.as_str(),
            Tok::Value => "?",
            Tok::List => "(...)",
            Tok::Punct(p) => p.as_str(),
        };
        let no_space_before = matches!(&t.tok, Tok::Punct(p) if p == ")" || p == "," || p == ";");
        let no_space_after_prev = matches!(prev, Some(Tok::Punct(p)) if p == "(");
        let space = match prev {
            None => false,
            // `IN (...)` always reads with a space.
            Some(_) if t.tok == Tok::List => true,
            Some(_) => t.spaced && !no_space_before && !no_space_after_prev,
        };
        if space {
            out.push(' ');
        }
        out.push_str(text);
        prev = Some(&t.tok);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn strings_with_doubled_and_escaped_quotes_become_one_placeholder() {
        assert_eq!(
            normalize(
                "SELECT * FROM users WHERE name = 'O''Brien' AND note = 'it''s; -- not a comment'"
            ),
            "SELECT * FROM users WHERE name = ? AND note = ?"
        );
        assert_eq!(
            normalize(r"SELECT E'a\'b', N'x', X'00ff', 'done'"),
            "SELECT ?, ?, ?, ?"
        );
        assert_eq!(
            normalize("SELECT $$it's $1 here$$, $body$ a $$ b $body$ FROM t"),
            "SELECT ?, ? FROM t"
        );
    }

    #[test]
    fn numbers_become_placeholders_but_identifiers_with_digits_stay() {
        assert_eq!(
            normalize("SELECT t1.col_2, 3.5e-2, .5, 0x1F FROM t1 WHERE id = 42 LIMIT 20 OFFSET 40"),
            "SELECT t1.col_2, ?, ?, ? FROM t1 WHERE id = ? LIMIT ? OFFSET ?"
        );
        assert_eq!(
            normalize("SELECT a - 1, b-2 FROM t WHERE x = -5 AND y IN (-1, +2)"),
            "SELECT a - ?, b-? FROM t WHERE x = ? AND y IN (...)"
        );
    }

    #[test]
    fn in_lists_of_any_length_fold_to_one_key() {
        let one = normalize("SELECT * FROM media WHERE id IN (1)");
        let many = normalize("SELECT * FROM media WHERE id IN (1, 2, 3,4)");
        let bound = normalize("SELECT * FROM media WHERE id IN (?1, ?2, ?3)");
        assert_eq!(one, "SELECT * FROM media WHERE id IN (...)");
        assert_eq!(many, one);
        assert_eq!(bound, one);
        // A subquery is not a list of values.
        assert_eq!(
            normalize("DELETE FROM t WHERE id IN (SELECT id FROM u WHERE n > 3)"),
            "DELETE FROM t WHERE id IN (SELECT id FROM u WHERE n > ?)"
        );
    }

    #[test]
    fn comments_go_and_whitespace_collapses() {
        let sql = "/* listing */ SELECT id,\n       title -- the name\n  FROM   media\n\tWHERE year >= 1999 ;";
        assert_eq!(
            normalize(sql),
            "SELECT id, title FROM media WHERE year >= ?"
        );
        assert_eq!(normalize("SELECT 1; ;"), "SELECT ?");
        assert_eq!(normalize("-- only a comment"), "");
    }

    #[test]
    fn placeholders_of_every_driver_share_a_key() {
        let pg = normalize("SELECT * FROM requests WHERE user_id = $1 AND status = $2");
        let sqlite = normalize("SELECT * FROM requests WHERE user_id = ?1 AND status = ?");
        let named = normalize("SELECT * FROM requests WHERE user_id = :user AND status = @status");
        assert_eq!(
            pg,
            "SELECT * FROM requests WHERE user_id = ? AND status = ?"
        );
        assert_eq!(sqlite, pg);
        assert_eq!(named, pg);
        // PostgreSQL casts and quoted identifiers are not placeholders or literals.
        assert_eq!(
            normalize(r#"SELECT "Title"::text, `k`, [order] FROM "Media" WHERE a[1] = 2"#),
            r#"SELECT "Title"::text, `k`, [order] FROM "Media" WHERE a[?] = ?"#
        );
    }

    #[test]
    fn function_calls_and_unterminated_input_do_not_panic() {
        assert_eq!(
            normalize("SELECT count(*), lower(title) FROM media"),
            "SELECT count(*), lower(title) FROM media"
        );
        assert_eq!(normalize("SELECT 'unterminated"), "SELECT ?");
        assert_eq!(normalize("SELECT /* unterminated"), "SELECT");
        assert_eq!(normalize("SELECT $tag$ never closed"), "SELECT ?");
        assert_eq!(normalize(""), "");
    }

    mod properties {
        //! Properties over generated statements: the key never panics, ignores which literal
        //! values and which whitespace or comments a statement has, and is its own key.

        use super::normalize;
        use proptest::prelude::*;

        /// Words and punctuation of a statement; `None` is a hole for a literal or placeholder.
        fn template() -> impl Strategy<Value = Vec<Option<&'static str>>> {
            let word = prop::sample::select(vec![
                "SELECT",
                "name",
                "FROM",
                "users",
                "WHERE",
                "id",
                "=",
                "AND",
                "(",
                ")",
                ",",
                "*",
                "<",
                ">=",
                "ORDER",
                "BY",
                "LIMIT",
                "\"Users\"",
                "t.col",
                "IN",
                "count(*)",
                "+",
            ]);
            prop::collection::vec(prop::option::weighted(0.7, word), 1..24)
        }

        /// A literal or placeholder of any driver.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<u32>().prop_map(|n| n.to_string()),
                (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
                "[^']{0,12}".prop_map(|t| format!("'{t}'")),
                "[a-z ;-]{0,6}".prop_map(|t| format!("'{t}''{t}'")),
                (1u32..20).prop_map(|n| format!("${n}")),
                Just("?".to_string()),
                "[a-z]{1,6}".prop_map(|n| format!(":{n}")),
                "[a-z]{1,6}".prop_map(|n| format!("@{n}")),
            ]
        }

        /// What may separate two tokens.
        fn gap() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                " ",
                "  ",
                "\n",
                "\t ",
                " /* a comment */ ",
                " -- a comment\n",
            ])
        }

        /// The template with its holes filled from `values` and its tokens separated by `gaps`.
        fn fill(template: &[Option<&str>], values: &[String], gaps: &[&str]) -> String {
            let mut sql = String::new();
            for (i, part) in template.iter().enumerate() {
                if i > 0 {
                    sql.push_str(gaps[i % gaps.len()]);
                }
                match part {
                    Some(word) => sql.push_str(word),
                    None => sql.push_str(&values[i % values.len()]),
                }
            }
            sql
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn any_text_gets_a_key_without_panicking(text in "\\PC{0,80}") {
                let _ = normalize(&text);
            }

            #[test]
            fn the_key_ignores_the_literal_values(
                t in template(),
                a in prop::collection::vec(value(), 1..8),
                b in prop::collection::vec(value(), 1..8),
            ) {
                let (one, other) = (fill(&t, &a, &[" "]), fill(&t, &b, &[" "]));
                prop_assert_eq!(normalize(&one), normalize(&other), "{} | {}", one, other);
            }

            #[test]
            fn the_key_ignores_whitespace_and_comments(
                t in template(),
                v in prop::collection::vec(value(), 1..8),
                gaps in prop::collection::vec(gap(), 1..8),
            ) {
                let (plain, spaced) = (fill(&t, &v, &[" "]), fill(&t, &v, &gaps));
                prop_assert_eq!(normalize(&plain), normalize(&spaced), "{} | {}", plain, spaced);
            }

            #[test]
            fn a_key_is_its_own_key(t in template(), v in prop::collection::vec(value(), 1..8)) {
                let key = normalize(&fill(&t, &v, &[" "]));
                prop_assert_eq!(normalize(&key), key.clone(), "{}", key);
            }
        }
    }
}

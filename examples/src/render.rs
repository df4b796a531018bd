//! The search results page, rendered to HTML by hand: escaped text, paging and tag links.

use std::fmt::Write as _;

use crate::catalogue::Page;
use crate::media::Media;

/// Appends `text` to `out` with `& < > " '` escaped, so it is safe in text and attributes.
pub fn escape_into(out: &mut String, text: &str) {
    let mut clean = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // The special characters are ASCII, so `i` is always a char boundary.
        out.push_str(&text[clean..i]);
        out.push_str(entity);
        clean = i + 1;
    }
    out.push_str(&text[clean..]);
}

/// `text` with HTML special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(&mut out, text);
    out
}

/// Appends `text` percent-encoded for a URL query value (unreserved characters stay as is).
pub fn url_encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// The full results page for what the user typed (`input`) and the page of hits found.
pub fn results_page(input: &str, page: &Page<'_>) -> String {
    let mut out = String::with_capacity(1024 + 512 * page.hits.len());
    let heading = if input.trim().is_empty() {
        "Browse"
    } else {
        input.trim()
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape_into(&mut out, heading);
    out.push_str(" · mediashelf</title>\n</head>\n<body>\n");
    out.push_str("<form class=\"search\" action=\"/search\" method=\"get\">");
    out.push_str("<input type=\"search\" name=\"q\" value=\"");
    escape_into(&mut out, input);
    out.push_str("\"><button>Search</button></form>\n");

    // Writing to a String cannot fail; the `fmt::Result`s below are ignored for that reason.
    let _ = writeln!(
        out,
        "<p class=\"summary\">{} {}</p>",
        page.total,
        if page.total == 1 { "result" } else { "results" }
    );
    if page.hits.is_empty() {
        out.push_str(
            "<p class=\"empty\">Nothing matches. Request it below and we will look for it.</p>\n",
        );
        request_form(&mut out, "title", input.trim());
    } else {
        out.push_str("<ol class=\"results\">\n");
        for hit in &page.hits {
            result_item(&mut out, hit.media);
        }
        out.push_str("</ol>\n");
    }
    if let Some(next) = &page.next {
        out.push_str("<a rel=\"next\" href=\"/search?q=");
        url_encode_into(&mut out, input);
        let _ = writeln!(out, "&amp;after={next}\">Next page</a>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn result_item(out: &mut String, media: &Media) {
    let _ = write!(out, "<li data-id=\"{}\"><h2>", media.id);
    escape_into(out, &media.title);
    let _ = write!(
        out,
        "</h2> <span class=\"kind\">{}</span> <span class=\"year\">{}</span>",
        media.kind, media.year
    );
    if !media.tags.is_empty() {
        out.push_str("<ul class=\"tags\">");
        for tag in &media.tags {
            out.push_str("<li><a href=\"/search?q=tag%3A");
            url_encode_into(out, tag);
            out.push_str("\">");
            escape_into(out, tag);
            out.push_str("</a></li>");
        }
        out.push_str("</ul>");
    }
    request_form(out, "media", &media.id.to_string());
    out.push_str("</li>\n");
}

fn request_form(out: &mut String, field: &str, value: &str) {
    out.push_str("<form class=\"request\" action=\"/requests\" method=\"post\"><input type=\"hidden\" name=\"");
    out.push_str(field);
    out.push_str("\" value=\"");
    escape_into(out, value);
    out.push_str("\"><button>Request</button></form>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::media::MediaKind;

    fn catalogue() -> Catalogue {
        Catalogue::from_items((1..=5).map(|id| Media {
            id,
            title: format!("Tom & Jerry <{id}>"),
            year: 1940 + id as u16,
            kind: MediaKind::Series,
            tags: vec!["slap stick".into(), "o'clock".into()],
        }))
        .expect("valid")
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("Amélie — plain"), "Amélie — plain");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        let mut out = String::new();
        url_encode_into(&mut out, "tag:noir & café/1");
        assert_eq!(out, "tag%3Anoir%20%26%20caf%C3%A9%2F1");
    }

    #[test]
    fn results_are_escaped_and_linked() {
        let c = catalogue();
        let page = c.search_page("tom <script>", None, 2).expect("first page");
        let html = results_page("tom <script>", &page);
        assert!(html.contains("<title>tom &lt;script&gt; · mediashelf</title>"));
        assert!(html.contains("value=\"tom &lt;script&gt;\""));
        assert!(
            html.contains("<h2>Tom &amp; Jerry &lt;1&gt;</h2>"),
            "{html}"
        );
        assert!(html.contains("<p class=\"summary\">5 results</p>"));
        assert!(html.contains("href=\"/search?q=tag%3Aslap%20stick\">slap stick</a>"));
        assert!(html.contains("o&#39;clock"));
        assert_eq!(html.matches("<li data-id=").count(), 2);
        let next = page.next.expect("three more results");
        assert!(html.contains(&format!(
            "<a rel=\"next\" href=\"/search?q=tom%20%3Cscript%3E&amp;after={next}\">"
        )));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn an_empty_page_offers_a_request() {
        let c = catalogue();
        let page = c
            .search_page("Zorro \"1998\"", None, 10)
            .expect("first page");
        let html = results_page("Zorro \"1998\"", &page);
        assert!(html.contains("0 results"));
        assert!(html.contains("name=\"title\" value=\"Zorro &quot;1998&quot;\""));
        assert!(!html.contains("rel=\"next\""));
    }
}

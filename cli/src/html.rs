//! The small HTML kit shared by the two commands that serve pages to a browser
//! (`example login-consent` and `perform authorization-code` / `token user`): escaping and one
//! page layout with its inline style sheet. No scripts, no external assets.

/// Escapes text for HTML element content and for double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style sheet of every page: a centred card, readable forms, monospace token boxes.
const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#f4f5f7;color:#1f2328;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}\
main{max-width:40rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;\
box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{margin-top:0;font-size:1.5rem}\
label{display:block;margin:.75rem 0 .25rem}\
label.check{display:flex;gap:.5rem;align-items:center;margin:.4rem 0}\
input[type=email],input[type=password],input[type=text]{width:100%;padding:.5rem;border:1px solid #c8ccd1;\
border-radius:4px;font:inherit}\
.actions{display:flex;gap:.75rem;margin-top:1.25rem}\
button,a.button{padding:.5rem 1rem;border:1px solid #0b5cad;border-radius:4px;background:#0b5cad;color:#fff;\
font:inherit;cursor:pointer;text-decoration:none}\
button.secondary{background:#fff;color:#0b5cad}\
.error{padding:.75rem;border-left:4px solid #c62828;background:#fdecea}\
.warning{padding:.75rem;border-left:4px solid #b26a00;background:#fff4e5}\
.muted{color:#656d76;font-size:.9rem}\
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}\
pre{padding:.75rem;background:#f6f8fa;border-radius:4px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
dt{font-weight:600;margin-top:.75rem}dd{margin:0}";

/// A complete HTML document. `title` is text (escaped here); `body` is already HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("plain text"), "plain text");
    }

    #[test]
    fn page_escapes_title_only() {
        let html = page("<T>", "<p>body</p>");
        assert!(html.contains("<title>&lt;T&gt;</title>"), "{html}");
        assert!(html.contains("<main>\n<p>body</p>\n</main>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }
}

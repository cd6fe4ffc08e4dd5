//! The study's report as one self-contained HTML page: inline CSS and SVG, crop previews as
//! data URIs, one small inline script that only checks the page (images decoded, every figure
//! drawn) so a headless browser can tell a broken report from a good one. No network, no
//! external script or font.

use super::svg::esc;

/// The page's styles: system fonts, a readable measure at 1280 px, print-friendly tables.
const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2433;margin:0;background:#f6f7f9;line-height:1.45}
main{max-width:1160px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:1.6rem;margin:0.2em 0 0.3em}h2{font-size:1.2rem;margin:1.8em 0 0.5em;padding-bottom:4px;border-bottom:2px solid #e3e6ea}
h3{font-size:1rem;margin:1.2em 0 0.4em}p{margin:0.4em 0 0.8em;max-width:80ch}
.sub{color:#5b6475;margin-top:0}.answer{font-size:1.05rem;background:#eef5fb;border-left:4px solid #0072B2;padding:10px 14px;margin:12px 0}
.warn{background:#fff4e5;border-left:4px solid #E69F00;padding:10px 14px;margin:12px 0}
table{border-collapse:collapse;margin:8px 0 12px;font-size:0.92rem}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th{background:#f1f3f6;font-weight:600;white-space:normal;vertical-align:bottom;max-width:11em}td:first-child,th:first-child{text-align:left}
tr.sum td{font-weight:600;border-top:2px solid #c9ced6}
.note{color:#5b6475;font-size:0.88rem}
.figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0;padding:8px;border:1px solid #e3e6ea;border-radius:6px;background:#fff;width:min-content}
figcaption{font-size:0.85rem;color:#5b6475;margin-top:4px}
svg text{font-family:inherit}svg .ct{font-size:14px;font-weight:600;fill:#1d2433}svg .tl{font-size:11px;fill:#5b6475}
svg .al{font-size:12px;fill:#1d2433}svg .lg{font-size:12px;fill:#1d2433}
svg .grid{stroke:#eceff3}svg .axis{stroke:#8a93a3}svg .diag{stroke:#b9bfca;stroke-dasharray:4 4}
.gallery{display:flex;flex-wrap:wrap;gap:12px}.gallery .panels{display:flex;gap:2px}.gallery img{display:block;width:112px;height:112px}
caption{caption-side:top;text-align:left;font-size:0.85rem;color:#5b6475;padding:2px 0}
details{margin:6px 0}summary{cursor:pointer;color:#0072B2}code{font-size:0.85rem;background:#f1f3f6;padding:1px 4px;border-radius:3px}
"#;

/// Marks the page checked once it has loaded: every image decoded with a size, every figure
/// holding its drawing. A headless browser reads `data-check` (and `data-errors`).
const CHECK: &str = r#"
(function(){var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message||e));});
window.addEventListener('load',function(){var bad=[];
document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0)bad.push('image '+(i.alt||i.src.slice(0,40)));});
document.querySelectorAll('figure').forEach(function(f,k){if(!f.querySelector('svg path, svg line, img'))bad.push('figure '+k+' is empty');});
var b=document.body;b.setAttribute('data-figures',String(document.querySelectorAll('figure').length));
b.setAttribute('data-errors',errors.concat(bad).join('; '));b.setAttribute('data-check',errors.length+bad.length===0?'ok':'failed');});})();
"#;

/// A table from a header and rows of already-escaped cells; `sum` rows are emphasised.
pub fn table(header: &[&str], rows: &[Vec<String>], sum_rows: usize) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr></thead><tbody>");
    for (k, r) in rows.iter().enumerate() {
        let class = if k + sum_rows >= rows.len() && sum_rows > 0 { " class=\"sum\"" } else { "" };
        s.push_str(&format!("<tr{class}>"));
        for c in r {
            s.push_str(&format!("<td>{c}</td>"));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

pub fn figure(svg: &str, caption: &str) -> String {
    format!("<figure>{svg}<figcaption>{caption}</figcaption></figure>")
}

/// Base64 for the data URIs of the crop previews (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The whole page around its sections' HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main><script>{CHECK}</script></body></html>\n",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (input, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn the_last_rows_of_a_table_can_be_its_summary() {
        let t = table(&["a", "b"], &[vec!["1".into(), "2".into()], vec!["mean".into(), "3".into()]], 1);
        assert!(t.contains("<tr><td>1</td>") && t.contains("<tr class=\"sum\"><td>mean</td>"), "{t}");
    }
}

//! An accessibility audit run in the browser on a rendered page: the contrast of every visible
//! piece of text against its effective background (WCAG 2.1 AA: 4.5:1, 3:1 for large text), a
//! name for every control, and a Tab order that follows the page and always shows the focus.

use fantoccini::Client;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

/// Text whose contrast is below AA, as `"<text>": <ratio>`.
const CONTRAST: &str = r#"
function channel(c) { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
function rgba(text) { var m = text.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; }
function luminance(c) { return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b); }
function over(top, below) {
  return { r: top.r * top.a + below.r * (1 - top.a), g: top.g * top.a + below.g * (1 - top.a), b: top.b * top.a + below.b * (1 - top.a), a: 1 };
}
function background(node) {
  var layers = [];
  for (var n = node; n && n.nodeType === 1; n = n.parentElement) {
    var c = rgba(getComputedStyle(n).backgroundColor);
    if (c.a > 0) { layers.push(c); if (c.a >= 1) { break; } }
  }
  var result = { r: 255, g: 255, b: 255, a: 1 };
  for (var i = layers.length - 1; i >= 0; i--) { result = over(layers[i], result); }
  return result;
}
var failures = [];
var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  var text = walker.currentNode.textContent.trim();
  var element = walker.currentNode.parentElement;
  if (!text || !element || !element.getClientRects().length) { continue; }
  var style = getComputedStyle(element);
  if (style.visibility === "hidden" || element.closest(".visually-hidden")) { continue; }
  var back = background(element);
  var fore = over(rgba(style.color), back);
  var a = luminance(fore) + 0.05, b = luminance(back) + 0.05;
  var ratio = Math.max(a, b) / Math.min(a, b);
  var size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
  var needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
  if (ratio < needed) { failures.push(JSON.stringify(text.slice(0, 40)) + ": " + ratio.toFixed(2)); }
}
return failures;
"#;

/// Controls a screen reader could not name.
const UNNAMED: &str = r#"
var failures = [];
document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href]").forEach(function (c) {
  var named = (c.labels && c.labels.length) || c.getAttribute("aria-label") || c.getAttribute("aria-labelledby")
    || ((c.tagName === "BUTTON" || c.tagName === "A") && c.textContent.trim());
  if (!named) { failures.push(c.outerHTML.slice(0, 80)); }
});
document.querySelectorAll("[tabindex]").forEach(function (c) {
  if (parseInt(c.getAttribute("tabindex"), 10) > 0) { failures.push("positive tabindex: " + c.outerHTML.slice(0, 80)); }
});
return failures;
"#;

/// Where the focus is: its position in document order, whether it shows a focus outline, and a
/// description.
const FOCUSED: &str = r##"
var e = document.activeElement;
if (!e || e === document.body) { return null; }
var all = Array.prototype.slice.call(document.querySelectorAll("*"));
var style = getComputedStyle(e);
var visible = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
return [all.indexOf(e), visible, e.tagName + (e.id ? "#" + e.id : "") + " " + (e.textContent || e.name || "").trim().slice(0, 30)];
"##;

/// Every problem the audit finds on the current page (none: an empty list).
pub async fn problems(browser: &Client) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, script) in [("contrast", CONTRAST), ("name", UNNAMED)] {
        let failures = browser.execute(script, vec![]).await.unwrap();
        for failure in failures.as_array().cloned().unwrap_or_default() {
            found.push(format!("{kind}: {}", failure.as_str().unwrap_or_default()));
        }
    }
    found.extend(focus_order(browser, 25).await);
    browser.execute("document.activeElement && document.activeElement.blur()", vec![]).await.unwrap();
    found
}

/// Tabs through the first `stops` focusable elements from the top of the page: each must come
/// after the previous one in the document and show a focus outline.
async fn focus_order(browser: &Client, stops: usize) -> Vec<String> {
    browser
        .execute("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    let mut found = Vec::new();
    let mut previous = -1_i64;
    for _ in 0..stops {
        let tab = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: Key::Tab.into() })
            .then(KeyAction::Up { value: Key::Tab.into() });
        browser.perform_actions(tab).await.unwrap();
        let focused = browser.execute(FOCUSED, vec![]).await.unwrap();
        let Some([position, visible, what]) = focused.as_array().and_then(|a| <&[_; 3]>::try_from(a.as_slice()).ok())
        else {
            break;
        };
        let position = position.as_i64().unwrap_or_default();
        if position <= previous {
            // Back at the top: the whole page was visited.
            break;
        }
        if visible != &serde_json::Value::Bool(true) {
            found.push(format!("focus: no visible outline on {what}"));
        }
        previous = position;
    }
    if previous < 0 {
        found.push("focus: Tab reaches nothing".to_owned());
    }
    found
}

/// The audit itself can fail: pale text, an unnamed field and a positive `tabindex`, planted on
/// the page, are each found (then removed).
pub async fn fails_on_a_planted_problem(browser: &Client) {
    let plant = "var p = document.createElement('p'); p.id = 'planted'; p.style.color = '#b0b0b0'; \
        p.innerHTML = 'pale text <input id=\"unnamed\"> <a href=\"#\" tabindex=\"2\">jump</a>'; \
        document.querySelector('main').prepend(p);";
    browser.execute(plant, vec![]).await.unwrap();
    let found = problems(browser).await;
    browser.execute("document.getElementById('planted').remove()", vec![]).await.unwrap();
    for expected in ["contrast: \"pale text\"", "name: <input id=\"unnamed\">", "positive tabindex"] {
        assert!(found.iter().any(|problem| problem.contains(expected)), "{expected} not found in {found:#?}");
    }
}

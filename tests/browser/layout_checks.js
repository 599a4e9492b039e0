// Checks tests/browser/test_layout.py runs in the page (each an expression Playwright calls).

// Every visible element with text of its own: its contrast with the first opaque background
// behind it (WCAG 2 relative luminance); large text (24 px, or 18.66 px bold) needs 3, the
// rest 4.5. Disabled controls are exempt, as WCAG exempts them.
const lowContrast =
() => {
  const parse = (c) => { const m = c.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0.5) return bg;
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18, 1] : [255, 255, 255, 1];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('[disabled], [aria-hidden="true"], script, style, noscript')) continue;
    const rect = el.getBoundingClientRect(); const style = getComputedStyle(el);
    if (!rect.width || !rect.height || style.visibility === 'hidden' || +style.opacity === 0) continue;
    const fg = parse(style.color); const bg = background(el);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize); const bold = +style.fontWeight >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)} < ${need}`);
  }
  return bad;
};

// Form fields without a label a screen reader would read.
const unlabelled =
() => [...document.querySelectorAll('input, select, textarea')]
  .filter((f) => !['hidden', 'submit', 'button'].includes(f.type))
  .filter((f) => !(f.labels && f.labels.length) && !f.getAttribute('aria-label') && !f.getAttribute('aria-labelledby'))
  .map((f) => f.outerHTML.slice(0, 120));

// The elements that stick out to the right of the viewport (the innermost ones: the cause).
const overflowing = () => {
  const out = [...document.querySelectorAll('body *')].filter(
    (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5
      && !el.closest('.table-wrap, .table-scroll, .main-nav'));
  return out.filter((el) => !out.some((o) => o !== el && el.contains(o)))
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 40)}" right=${Math.round(el.getBoundingClientRect().right)}`);
};

// Accessibility problems of the page in the browser, as a list of sentences (none: all good).
// Checked: one h1, headings in order, landmarks, a skip link first, labelled fields, unique ids,
// a language, and the WCAG AA contrast of every visible text against its computed background.
(() => {
  const problems = [];
  const say = (text) => problems.push(text);
  const h1s = document.querySelectorAll("h1");
  if (h1s.length !== 1) say(`${h1s.length} h1 elements`);
  let last = 0;
  for (const heading of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(heading.tagName[1]);
    if (last === 0 && level !== 1) say(`first heading is ${heading.tagName}`);
    if (last && level > last + 1) {
      say(`h${last} then ${heading.tagName}: ${heading.textContent.trim()}`);
    }
    last = level;
  }
  if (document.querySelectorAll("main").length !== 1) say("not exactly one main");
  if (document.querySelectorAll("body > header").length !== 1) say("no banner (body > header)");
  if (document.querySelectorAll("body > footer").length !== 1) say("no contentinfo (body > footer)");
  for (const nav of document.querySelectorAll("nav")) {
    if (!nav.getAttribute("aria-label")) say("a nav without aria-label");
  }
  if (!document.documentElement.lang) say("no lang on html");
  if (!document.title.trim()) say("no title");
  const first = document.querySelector("a, button, input, select, textarea");
  if (!first || first.getAttribute("href") !== "#main" || !document.getElementById("main")) {
    say("the first focusable element is not a skip link to #main");
  }
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (!(field.labels && field.labels.length)) say(`field without a label: ${field.id}`);
  }
  const ids = new Set();
  for (const element of document.querySelectorAll("[id]")) {
    if (ids.has(element.id)) say(`duplicate id ${element.id}`);
    ids.add(element.id);
  }
  const rgb = (text) => {
    const parts = text.match(/[\d.]+/g).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const channel = (value) => {
    const v = value / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = rgb(getComputedStyle(e).backgroundColor);
      if (colour.a > 0) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const checked = new Set();
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || checked.has(element)) continue;
    checked.add(element);
    const style = getComputedStyle(element);
    if (!element.getClientRects().length || style.visibility === "hidden") continue;
    const a = luminance(rgb(style.color));
    const b = luminance(background(element));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      const text = walker.currentNode.textContent.trim().slice(0, 40);
      say(`contrast ${ratio.toFixed(2)}:1 for "${text}"`);
    }
  }
  return problems;
})();

// Search result snippets are cut from each page's HTML source, where math is still raw TeX such as
// \(W_Q\) (MathJax typesets it only when the page itself is shown). Turn that TeX into plain text
// before Sphinx's search builds the snippets.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const symbols = {sqrt: "√", top: "ᵀ", times: "×", cdot: "·", le: "≤", ge: "≥", ne: "≠", in: "∈",
                   sum: "Σ", alpha: "α", tau: "τ", ell: "ℓ", infty: "∞", approx: "≈", to: "→"};
  const plain = (tex) => tex
    .replace(/\\(?:begin|end)\{[^{}]*\}|&|\\\\/g, " ")
    .replace(/\\(?:text|mathrm|operatorname|mathbf|mathbb|boldsymbol)\{([^{}]*)\}/g, "$1")
    .replace(/\\([A-Za-z]+)/g, (match, name) => (name in symbols ? symbols[name] : name))
    .replace(/[{}]/g, "")
    .replace(/\\[,;! ]/g, " ");
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => htmlToText(htmlString, anchor)
    .replace(/\\\(([\s\S]*?)\\\)/g, (m, tex) => plain(tex))
    .replace(/\\\[([\s\S]*?)\\\]/g, (m, tex) => plain(tex))
    .replace(/\$\$([\s\S]*?)\$\$/g, (m, tex) => plain(tex));
});

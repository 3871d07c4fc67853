"""The stylesheet inlined into every HTML report (screen and print)."""

CSS = """
:root { --red: #b00020; --ink: #1d2430; --muted: #5b6575; --line: #d8dde6; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f9; color: var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 20px 28px 40px; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 1.4em 0 .5em;
  padding-bottom: 3px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.1em 0 .4em; }
h4 { font-size: .95em; margin: .6em 0 .2em; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 8px; margin-bottom: 12px; }
.meta, .muted { color: var(--muted); }
.meta { margin: 2px 0; font-size: .9em; }
.mode { display: inline-block; margin: 4px 0; padding: 2px 10px; border-radius: 12px;
  font-size: .85em; font-weight: 600; background: #e3ecf7; color: var(--accent); }
.mode-education { background: #fff1d6; color: #8a5a00; }
.mode-report { background: #e6f4ea; color: #1e6b34; }
.banner { margin: 10px 0 16px; }
.flag { background: var(--red); color: #fff;
  border-radius: 6px; padding: 12px 16px; margin-bottom: 8px; }
.flag h2 { border: 0; margin: 0 0 4px; font-size: 1.25em; color: #fff; }
.flag p { margin: 3px 0; }
.flag .action { font-weight: 600; font-size: 1.05em; }
.flag a, .flag a.cite { color: #fff; }
.flag a.cite { text-decoration: underline; }
.flag .rule { font-size: .85em; opacity: .92; }
.summary p { font-size: 1.1em; font-weight: 600; margin: 8px 0; }
.model-flags { border-left: 5px solid var(--red); background: #fdecee; padding: 2px 14px; }
.model-flags h2 { border: 0; color: var(--red); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 6px 9px; text-align: left; vertical-align: top; }
th { background: #eef2f7; font-size: .9em; }
table.ddx td.rank { width: 2.5em; text-align: center; font-weight: 700; }
table.ddx td.lik { width: 220px; white-space: nowrap; }
table.ddx tr.other td { color: var(--muted); font-style: italic; }
table.ddx tr.other .bar span { background: #9aa4b2; }
table.ddx td a { color: inherit; text-decoration: none; font-weight: 600; }
.bar { display: inline-block; width: 140px; height: 10px; background: #e6eaf0; border-radius: 5px;
  vertical-align: middle; margin-right: 8px; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--accent); }
.pct { font-weight: 700; }
h3 .pct { color: var(--accent); margin-left: 6px; }
.codedesc { color: var(--muted); font-size: .85em; }
.badcode { color: #8a4b00; background: #fff1d6;
  border-radius: 4px; padding: 0 4px; font-size: .85em; }
.dx { border: 1px solid var(--line); border-radius: 6px; padding: 2px 14px 8px; margin: 10px 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.cols ul, .steps { margin: 0; padding-left: 18px; }
.supporting h4 { color: #1e6b34; }
.against h4 { color: #8a4b00; }
.kind { display: inline-block; font-size: .78em; text-transform: uppercase; background: #eef2f7;
  border-radius: 4px; padding: 0 5px; color: var(--muted); }
.why { color: var(--muted); }
.check { font-size: .82em; border-radius: 4px; padding: 0 4px; margin-left: 4px;
  white-space: nowrap; }
.check-checked { color: #1e6b34; background: #e6f4ea; }
.check-unchecked { color: var(--muted); background: #eef2f7; }
.check-mismatch { color: #fff; background: #b3261e; white-space: normal; }
.claims { margin: 4px 0 0; font-size: .9em; }
.uncited { color: #8a4b00; font-size: .9em; }
a.cite { color: var(--accent); text-decoration: none; font-size: .9em; white-space: nowrap; }
a.cite:hover { text-decoration: underline; }
.prose { line-height: 1.6; }
.md h1, .md h2, .md h3 { font-size: 1.05em; border: 0; }
blockquote { margin: 8px 0; padding: 6px 14px;
  border-left: 4px solid var(--line); background: #f8f9fb; }
blockquote .src { font-size: .85em; color: var(--muted); margin: 0 0 4px; }
blockquote p { margin: 2px 0; }
.imgset { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; margin: 8px 0 16px; }
.views { display: flex; flex-wrap: wrap; gap: 12px; flex: 1; min-width: 260px; }
figure { margin: 0; max-width: 100%; }
figure img { display: block; max-width: 100%; border: 1px solid var(--line); background: #000; }
figure.original { max-width: 560px; }
figure.original img { max-height: 560px; }
figure.view img { max-width: 220px; max-height: 240px; }
figure.view { max-width: 230px; }
figcaption { font-size: .88em; margin-top: 4px; }
figcaption ul { margin: 2px 0; padding-left: 18px; }
.noimg { padding: 30px; border: 1px dashed var(--line); color: var(--muted); }
ul.refs { list-style: none; padding-left: 0; }
ul.refs li { padding: 4px 0 4px 3.6em; text-indent: -3.6em; border-bottom: 1px dotted var(--line); }
ul.refs li:target { background: #fff8c5; }
.rid { display: inline-block; width: 3.4em;
  text-indent: 0; font-weight: 700; color: var(--accent); }
.warnings { border-left: 5px solid #d08a00; background: #fff8e8; padding: 2px 14px; }
.warnings h2 { border: 0; }
.disclaimer { margin-top: 24px; padding-top: 10px; border-top: 2px solid var(--line);
  color: var(--muted); font-size: .9em; }
@media print {
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  .flag { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .dx, figure { break-inside: avoid; }
}
"""

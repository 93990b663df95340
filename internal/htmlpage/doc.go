// Package htmlpage is the scaffolding shared by predictd's self-contained
// HTML reports (loadtest/report's load-test and capacity pages,
// tools/eval's evaluation page, tools/candidates' comparison page): the
// page head with its inline CSS, number formatting for people, a common
// palette, gonum.org/v1/plot plots with sans-serif text, and a plot's
// embedding as an inline SVG element.
//
// A page built here has no scripts, no external stylesheets, fonts or
// images: it can be mailed, attached to a ticket or opened from disk years
// later and look the same. It is well-formed XML as well as HTML (every
// element closed, no named entities but XML's), which Check verifies and
// the reports' tests rely on to parse them. Text is escaped by
// html/template: New's templates are html/template templates, and a plot's
// SVG is handed to them as template.HTML.
//
// The package keeps no mutable state; every function may be called
// concurrently.
package htmlpage

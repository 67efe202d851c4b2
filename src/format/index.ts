// Formatting, written once: text measured in terminal columns, thousands separators, plain-text
// tables and their column layout, budget bars. The console, invoices, budgets and the worker's status
// line all use these.
export { ELLIPSIS, firstThatFits, fit, isPlainAscii, loadFullWidthRules, textWidth, thousands, truncate } from './text.js';
export { layoutColumns, type ColumnSpec } from './table-layout.js';
export { textTable, widestLine, type TextColumn, type TextTableOptions } from './table.js';
export { budgetBar } from './bars.js';

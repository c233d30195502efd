"""What people read: the report (markdown, html, charts, slides), console tables,
exports for other tools, and the published dashboard."""

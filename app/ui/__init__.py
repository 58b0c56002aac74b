"""The desktop UI: Qt widgets, item models and the database worker. The only
package that imports PySide6."""

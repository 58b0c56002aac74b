"""The window around the screens: start-up, the main window and workspace, the
shared context, background work, theme, preferences, idle lock, About."""

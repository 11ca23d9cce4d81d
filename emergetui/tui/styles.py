"""The lab's stylesheet, kept in Python so it ships with the package (no package-data needed)."""

LAB_CSS = """
Screen { layout: vertical; }
.section { color: $text-muted; text-style: bold; }
.hint { color: $text-muted; height: 1; }
.explain { height: auto; max-height: 5; padding: 0 1; color: $text-muted; }
#findings { max-height: 10; color: $text; }

/* start screen */
#start-body { height: 1fr; }
#ladder-col { width: 3fr; min-width: 40; }
#task-col { width: 2fr; min-width: 30; padding-left: 1; }
#ladder { margin-bottom: 0; }
#rungs { height: 1fr; min-height: 4; }
#rung-note { height: 3; color: $text-muted; }
#tasks { height: 1fr; min-height: 3; border: none; padding: 0; }
#settings { grid-size: 2; grid-columns: 11 1fr; grid-rows: 1; height: 4; }
#settings Label { color: $text-muted; }
#start { width: 100%; margin-top: 0; }
#runs-table { height: 1fr; }

/* run screen */
#run-top { height: 1fr; }
#run-left { width: 2fr; min-width: 34; max-width: 56; border-right: solid $panel; }
#run-right { width: 3fr; }
#progress { height: auto; }
#curve-title { height: 1; padding: 0 1; color: $text-muted; }
#live-curve { height: 1fr; }
#log { height: 6; border-top: solid $panel; }

/* results screen */
#results-head { height: 2; padding: 0 1; }
#results-tabs { height: 1fr; }
#results-tabs TabPane { padding: 0; }
#curve-plot, #loss-plot, #icl-plot { height: 1fr; }
#results-table, #verdict-table { height: 1fr; }

/* dialogs */
ModalScreen { align: center middle; }
.dialog {
    width: 70; max-width: 95%; height: auto; max-height: 90%;
    border: thick $primary; background: $surface; padding: 1 2;
}
#help-dialog { height: 90%; }
.dialog .buttons { height: 1; margin-top: 1; align-horizontal: right; }
.dialog .buttons Button { margin-left: 2; }
"""

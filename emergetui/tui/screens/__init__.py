"""The lab's screens: start, run, results, and the export and help dialogs."""

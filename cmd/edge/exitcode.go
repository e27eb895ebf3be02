package main

// Exit codes of the edge command.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command ran and failed: bad file, impossible budget, failing cases
	ExitUsage   = 2 // the command line is wrong: unknown command or flag, missing argument
)

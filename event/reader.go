package event

// LogReader is an Ingester that tells the log it appends to, for readers:
// the notify pipeline, the console, `changes`. *BatchIngester is one.
type LogReader interface {
	Log() Log
}

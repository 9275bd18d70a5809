package web

// RoutePatterns lists the console's route patterns and whether each is public.
func RoutePatterns(m *Module) map[string]bool {
	out := map[string]bool{}
	for _, r := range m.routes() {
		out[r.pattern] = r.access == public
	}
	return out
}

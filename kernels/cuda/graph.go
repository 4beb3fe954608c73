package cuda

// Graph is a captured sequence of the stream's work, replayed as one
// launch (CUDA graphs): the denoising step of a batch whose shapes repeat
// costs one launch instead of hundreds.
type Graph struct {
	c          *Context
	graph, exe uintptr
}

// Launch queues one replay of the graph on the context's stream.
func (g *Graph) Launch() error {
	return g.c.Do(func() error { return g.c.d.check("cuGraphLaunch", g.c.d.cuGraphLaunch(g.exe, g.c.stream)) })
}

// Destroy frees the graph.
func (g *Graph) Destroy() error {
	return g.c.Do(func() error {
		err := g.c.d.check("cuGraphExecDestroy", g.c.d.cuGraphExecDestroy(g.exe))
		if e := g.c.d.check("cuGraphDestroy", g.c.d.cuGraphDestroy(g.graph)); err == nil {
			err = e
		}
		return err
	})
}

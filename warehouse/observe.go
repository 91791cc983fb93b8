package warehouse

// LoadObserver is told about every insert batch Load sends: the table
// and its row count (the metrics of rows loaded and batch sizes). It must
// be cheap and safe for concurrent use.
type LoadObserver interface {
	Loaded(table string, rows int)
}

type loadObserver struct{ o LoadObserver }

// SetLoadObserver makes Load report each batch it inserted to o (nil
// stops reporting). It is safe to call while loads run.
func (w *Warehouse) SetLoadObserver(o LoadObserver) {
	if o == nil {
		w.observer.Store(nil)
		return
	}
	w.observer.Store(&loadObserver{o})
}

func (w *Warehouse) observeLoad(table string, rows int) {
	if p := w.observer.Load(); p != nil {
		p.o.Loaded(table, rows)
	}
}

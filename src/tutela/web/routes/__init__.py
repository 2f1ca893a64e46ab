"""One route module per resource: auth, queue, cases, contacts, live, personas, stats, audit."""

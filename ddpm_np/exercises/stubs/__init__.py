"""The exercises' stubs: the library's functions under their own names and signatures, each
body a NotImplementedError whose message is the hint. `ddpm-np exercises DIR` copies them into
a workspace; the project's tests check that they keep the library's signatures."""

"""Cases: opening, threading, references, stages and the actions staff take on them."""

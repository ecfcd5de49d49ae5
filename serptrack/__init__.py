"""serptrack: track where a brand's official response and its critics rank, organic and paid."""

__version__ = "0.1.0"

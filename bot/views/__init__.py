"""What a screen looks like: cards, lists, labels and keyboards built from service values."""

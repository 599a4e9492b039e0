"""Customer dashboard pages of rentals: buy, rent, My Numbers, history, webhook and policy."""

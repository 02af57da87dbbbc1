"""Staff: the directory, who is trusted, their mail and the commands they send by it."""

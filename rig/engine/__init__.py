"""Protocol -> sweep plans -> runner -> record stream."""

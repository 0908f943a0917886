"""Contact Control: attempt limits, quiet hours and Regulation F, the attempt log."""

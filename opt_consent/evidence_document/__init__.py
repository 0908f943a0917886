"""Evidence documents: print, PDF and the JSON twin anyone can verify offline."""

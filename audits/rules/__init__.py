"""Rule modules. The catalogue (`audits.catalogue`) lists them explicitly."""

"""What works for any process: the inbox, "my applications", the case page, the generic start page, and
their JSON API. A new approval process needs no view of its own (README: "Adding an approval process")."""

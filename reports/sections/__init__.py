"""Report sections; each module registers its sections with ``@section`` on import."""
